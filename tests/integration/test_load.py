"""load()/load_all() on the seeded tiny database: every dtype, columns/where/limit, reflection, read-only, errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import psycopg
import pytest
import sqlalchemy

from opentier_explore import connect, load, load_all
from opentier_explore.errors import OpentierError, UnknownNameError

TABLES = [
    "accounts",
    "chat_messages",
    "conversations",
    "document_chunks",
    "documents",
    "ingestion_jobs",
    "knowledge_submissions",
    "messages",
    "password_reset_tokens",
    "sessions",
    "user_memories",
    "users",
    "verification_tokens",
]


@pytest.fixture(scope="module")
def engine(tiny_url):
    eng = connect(tiny_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def frames(engine):
    return load_all(engine=engine)


def _rows(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def test_load_all_has_every_table_but_bookkeeping(frames, tiny_url):
    assert sorted(frames) == TABLES
    for name, df in frames.items():
        assert len(df) == _rows(tiny_url, f'SELECT count(*) FROM "{name}"')[0][0], name
        assert isinstance(df.index, pd.RangeIndex)


def test_uuid_text_timestamptz_bool_enum(frames, tiny_url):
    users = frames["users"]
    arrow_str = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas 3's default `str`
    assert users["id"].dtype == arrow_str and all(isinstance(v, str) and len(v) == 36 for v in users["id"])
    assert users["password_hash"].dtype == arrow_str and frames["sessions"]["ip_address"].dtype == arrow_str
    assert str(users["created_at"].dtype) == "datetime64[ns, UTC]"
    assert str(users["deleted_at"].dtype) == "datetime64[ns, UTC]" and users["deleted_at"].isna().any()
    assert users["email_verified"].dtype == bool  # NOT NULL boolean: plain numpy bool
    assert list(users["role"].cat.categories) == ["user", "contributor", "admin"]  # declaration order
    assert users["password_hash"].isna().any()  # NULL stays missing
    ref = dict(_rows(tiny_url, "SELECT id::text, extract(epoch FROM created_at)::numeric FROM users"))
    got = dict(zip(users["id"], users["created_at"]))
    assert all(int(ref[k] * 1_000_000) == got[k].value // 1000 for k in ref)
    messages = frames["messages"]
    assert list(messages["role"].cat.categories) == ["user", "assistant", "system"]


def test_json_inet_vector_int(frames, tiny_url, engine):
    conv = frames["conversations"]
    ref = dict(_rows(tiny_url, "SELECT id::text, metadata::text FROM conversations"))
    assert all(json.loads(ref[i]) == m for i, m in zip(conv["id"], conv["metadata"]))
    sources = frames["chat_messages"]["sources"]
    assert all(isinstance(s, list) for s in sources) and any(len(s) for s in sources)
    assert all(isinstance(m, dict) for m in frames["chat_messages"]["metadata"])
    ips = frames["sessions"]["ip_address"].dropna()
    assert len(ips) and all(isinstance(ip, str) and "/" not in ip for ip in ips)
    ref_ips = dict(_rows(tiny_url, "SELECT id::text, host(ip_address) FROM sessions"))
    assert all(
        ref_ips[i] == ip for i, ip in zip(frames["sessions"]["id"], frames["sessions"]["ip_address"]) if pd.notna(ip)
    )
    chunks = frames["document_chunks"]
    vectors = [v for v in chunks["embedding"] if v is not None]
    assert vectors and all(v.dtype == np.float32 and v.shape == (384,) for v in vectors)
    ref_vec = dict(
        _rows(tiny_url, "SELECT id::text, embedding::text FROM document_chunks WHERE embedding IS NOT NULL LIMIT 5")
    )
    by_id = dict(zip(chunks["id"], chunks["embedding"]))
    for k, text in ref_vec.items():
        np.testing.assert_array_equal(by_id[k], np.array(json.loads(text), dtype=np.float32))
    own = [v for v in load("document_chunks", engine=engine, columns=["embedding"])["embedding"] if v is not None]
    before = own[1].copy()
    own[0][:] = 42.0  # each row's array is its own and writable
    np.testing.assert_array_equal(own[1], before)
    assert chunks["chunk_index"].dtype == np.int32  # NOT NULL integer
    jobs = frames["ingestion_jobs"]
    assert jobs["progress_percent"].dtype == np.float64 and jobs["total_documents"].dtype == np.int32


def test_columns_where_limit(engine, frames):
    df = load("users", engine=engine, columns=["role", "id"], where="role = 'admin'", limit=2)
    assert list(df.columns) == ["role", "id"] and len(df) == 2 and set(df["role"]) == {"admin"}
    admins = frames["users"][frames["users"]["role"] == "admin"]["id"]
    assert df["id"].tolist() == sorted(admins)[:2]  # with limit, rows come in primary-key order
    assert load("users", engine=engine, limit=0).empty
    empty = load("users", engine=engine, where="false")
    assert empty.empty and str(empty["created_at"].dtype) == "datetime64[ns, UTC]"
    assert isinstance(empty["role"].dtype, pd.CategoricalDtype)


def test_unknown_names_suggest_the_closest(engine):
    with pytest.raises(UnknownNameError, match=r"no table 'chat_mesages'; did you mean 'chat_messages'"):
        load("chat_mesages", engine=engine)
    with pytest.raises(UnknownNameError, match=r"no column 'parent'; did you mean 'parent_id'\?"):
        load("chat_messages", engine=engine, columns=["parent"])
    with pytest.raises(UnknownNameError, match="no table 'sesions'"):
        load_all(engine=engine, tables=["users", "sesions"])
    with pytest.raises(OpentierError, match="Loading table 'users' failed: column \"nope\" does not exist"):
        load("users", engine=engine, where="nope = 1")


def test_reflects_a_table_the_kit_does_not_know(tiny_url, engine):
    with psycopg.connect(tiny_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE audit_extra (id bigint PRIMARY KEY, score int, flag boolean, ratio real, "
            "tags text[], note text, seen timestamptz, span interval)"
        )
        conn.execute(
            "INSERT INTO audit_extra VALUES (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL), "
            "(1, 7, true, 0.5, '{a,b}', 'x', '2025-01-01 12:00+00', '1 hour')"
        )
        conn.execute("ALTER TABLE users ADD COLUMN nickname text")
    try:
        df = load("audit_extra", engine=engine, limit=5)
        assert df["id"].tolist() == [1, 2] and df["id"].dtype == np.int64
        assert (
            str(df["score"].dtype) == "Int32"
            and df["score"].tolist()[0] == 7
            and df["score"].isna().tolist() == [False, True]
        )
        assert str(df["flag"].dtype) == "boolean" and df["flag"].isna().tolist() == [False, True]
        assert df["ratio"].dtype == np.float32 and np.isnan(df["ratio"][1])
        assert list(df["tags"][0]) == ["a", "b"] and df["tags"][1] is None
        assert df["seen"][0] == pd.Timestamp("2025-01-01 12:00", tz="UTC")
        assert df["span"][0] == pd.Timedelta(hours=1) and pd.isna(df["span"][1])
        assert "audit_extra" in load_all(engine=engine)
        assert "nickname" in load("users", engine=engine).columns
    finally:
        with psycopg.connect(tiny_url, autocommit=True) as conn:
            conn.execute("DROP TABLE audit_extra")
            conn.execute("ALTER TABLE users DROP COLUMN nickname")


def test_bookkeeping_tables_load_on_request(engine):
    ledger = load_all(engine=engine, tables=["_sqlx_migrations"])["_sqlx_migrations"]
    assert len(ledger) > 0 and ledger["version"].dtype == np.int64


def test_read_only_engine_refuses_an_insert(engine):
    with pytest.raises(sqlalchemy.exc.DBAPIError, match="read-only transaction"):
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO conversations (id, user_id) VALUES (gen_random_uuid(), 'x')")


def test_load_is_read_only_even_on_a_writable_engine(tiny_url):
    with psycopg.connect(tiny_url, autocommit=True) as conn:
        conn.execute("CREATE SEQUENCE load_probe_seq")
    writable = connect(tiny_url, read_only=False)
    try:
        with pytest.raises(OpentierError, match="read-only transaction"):
            load("users", engine=writable, where="nextval('load_probe_seq') > 0")
        assert _rows(tiny_url, "SELECT last_value, is_called FROM load_probe_seq") == [(1, False)]
    finally:
        writable.dispose()
        with psycopg.connect(tiny_url, autocommit=True) as conn:
            conn.execute("DROP SEQUENCE load_probe_seq")


def test_many_small_batches_give_the_same_frame(engine, frames, monkeypatch):
    from opentier_explore import config

    monkeypatch.setattr(config, "LOAD_BATCH_BYTES", 4096)
    for name in ("users", "sessions", "document_chunks", "chat_messages", "ingestion_jobs"):
        pd.testing.assert_frame_equal(load(name, engine=engine), frames[name], obj=name)


def test_a_server_error_after_the_first_batch_is_one_sentence(engine, monkeypatch):
    from opentier_explore import config

    monkeypatch.setattr(config, "LOAD_BATCH_BYTES", 4096)
    # the last row of the sequential scan divides by zero: the error arrives mid-stream, not at execute time
    where = "1 / (CASE WHEN ctid = (SELECT max(ctid) FROM chat_messages) THEN 0 ELSE 1 END) = 1"
    with pytest.raises(OpentierError, match=r"^Loading table 'chat_messages' failed: division by zero\.$"):
        load("chat_messages", engine=engine, where=where)
    assert len(load("users", engine=engine, limit=3)) == 3


def test_misused_arguments_are_one_sentence_config_errors(engine, tiny_url):
    from opentier_explore.errors import ConfigError

    with pytest.raises(ConfigError, match=r"`engine` must be an Engine from connect\(\), not str"):
        load("users", engine=tiny_url)
    with pytest.raises(ConfigError, match="`tables` must be a list of table names, not the string 'users'"):
        load_all(engine=engine, tables="users")
    with pytest.raises(ConfigError, match="`columns` names 'id' more than once"):
        load("users", engine=engine, columns=["id", "role", "id"])


def test_a_time_pandas_cannot_hold_names_its_column(engine, tiny_url):
    with psycopg.connect(tiny_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE audit_times (id int PRIMARY KEY, ok timestamptz, ends timestamptz, born date)")
        conn.execute(
            "INSERT INTO audit_times VALUES (1, now(), '2025-01-01 00:00+00', '2025-01-01'), (2, now(), 'infinity', '-infinity')"
        )
    try:
        for column in ("ends", "born"):
            with pytest.raises(
                OpentierError,
                match=rf"^Loading table 'audit_times' failed: column '{column}' holds a date or time pandas cannot represent .*`where=`\.$",
            ):
                load("audit_times", engine=engine, columns=["id", column])
        assert load("audit_times", engine=engine, where="ends < '2100-01-01'")["id"].tolist() == [1]
    finally:
        with psycopg.connect(tiny_url, autocommit=True) as conn:
            conn.execute("DROP TABLE audit_times")


def test_json_as_arrow_keeps_the_texts_in_arrow(engine, tiny_url):
    import pyarrow as pa

    conv = load("conversations", engine=engine, columns=["id", "metadata"], json="arrow")
    assert conv["metadata"].dtype == pd.ArrowDtype(pa.json_(pa.string()))
    ref = dict(_rows(tiny_url, "SELECT id::text, metadata FROM conversations"))
    assert len(ref) == len(conv)
    assert all(json.loads(text) == ref[i] for i, text in zip(conv["id"], conv["metadata"]))


def test_as_arrow_is_the_drivers_table(engine, tiny_url):
    import pyarrow as pa

    table = load("chat_messages", engine=engine, as_arrow=True)
    frame = load("chat_messages", engine=engine)
    assert isinstance(table, pa.Table) and table.column_names == list(frame.columns) and table.num_rows == len(frame)
    assert table.schema.field("metadata").type == pa.json_(pa.string())
    assert table.schema.field("created_at").type == pa.timestamp("us", tz="UTC")
    assert table.column("id").to_pylist() == frame["id"].tolist()
    assert [json.loads(t) for t in table.column("sources").to_pylist()] == frame["sources"].tolist()
    tables = load_all(engine=engine, tables=["users"], as_arrow=True)
    assert isinstance(tables["users"], pa.Table) and tables["users"].num_rows == len(load("users", engine=engine))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"json": "dicts"}, r"^`json` must be 'objects', 'arrow' or 'nested', not 'dicts'\.$"),
        ({"as_arrow": "yes"}, r"^`as_arrow` must be True or False, not 'yes'\.$"),
    ],
)
def test_a_wrong_mode_is_one_sentence(engine, kwargs, message):
    with pytest.raises(OpentierError, match=message):
        load("users", engine=engine, **kwargs)


def test_json_objects_keep_nulls_unicode_and_every_json_shape(tiny_url, engine, monkeypatch):
    from opentier_explore import config

    texts = ['{"a": [1, {"b": "é✓"}]}', "null", None, "[]", '"x"', "3.5", "[[1, 2], [3, 4]]", "{}"]
    with psycopg.connect(tiny_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE json_shapes (id int PRIMARY KEY, doc jsonb, note text NOT NULL)")
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO json_shapes VALUES (%s, %s, %s)", [(i, t, f"n{i}") for i, t in enumerate(texts)]
            )
    try:
        want = [None if t is None else json.loads(t) for t in texts]
        for batch_bytes in (config.LOAD_BATCH_BYTES, 64):  # one batch, then one row or two per batch
            monkeypatch.setattr(config, "LOAD_BATCH_BYTES", batch_bytes)
            df = load("json_shapes", engine=engine, limit=len(texts))
            assert df["doc"].dtype == object and df["doc"].tolist() == want
            assert df["note"].tolist() == [f"n{i}" for i in range(len(texts))]
    finally:
        with psycopg.connect(tiny_url, autocommit=True) as conn:
            conn.execute("DROP TABLE json_shapes")


def test_load_leaves_the_collector_as_it_found_it(engine):
    import gc

    assert gc.isenabled()
    load("chat_messages", engine=engine)
    assert gc.isenabled() and gc.get_count()[0] < 1000  # the new objects went to the oldest generation at once
    held = [[] for _ in range(10)]
    gc.freeze()
    try:
        assert gc.get_freeze_count() > 0 and held
        load("chat_messages", engine=engine)
        assert gc.get_freeze_count() > 0  # the caller's frozen objects stay frozen (unfreeze would empty it)
    finally:
        gc.unfreeze()
    gc.disable()
    try:
        load("conversations", engine=engine)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_cited_texts_load_as_one_shared_string_each(tiny_url, engine):
    df = load("chat_messages", engine=engine, columns=["id", "sources"], where="jsonb_array_length(sources) > 0")
    with psycopg.connect(tiny_url) as conn:
        texts = dict(conn.execute("SELECT id::text, sources::text FROM chat_messages").fetchall())
    assert len(df) > 100 and [json.loads(texts[i]) for i in df["id"]] == df["sources"].tolist()
    contents = [item["content"] for sources in df["sources"] for item in sources]
    assert len({id(c) for c in contents}) == len(set(contents)) < len(contents)
