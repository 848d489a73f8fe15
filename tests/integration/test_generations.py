"""Both schema generations, read as they are: the fixtures' shape, who migrated them, the catalog checks, the metrics."""

from __future__ import annotations

import json

import pandas as pd
import psycopg
import pytest
from _catalog import catalog, without_ledger

from opentier_explore import connect, load, load_all, metrics, provenance, require_data
from opentier_explore.errors import NotMigrated
from tests import fixtures
from tests.fixtures import rows as fixture_rows

FEB_API = [
    20260111000001,
    20260111000002,
    20260111000003,
    20260111000004,
    20260111000005,
    20260114000001,
    20260114000003,
]
FEB_INTELLIGENCE = [
    "20260115000001",
    "20260115000002",
    "20260115000003",
    "20260115000004",
    "20260115000005",
    "20260115000006",
    "20260115000009",
]


def _one(url: str, sql: str, *params):
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def engines(feb2026_url: str, mar2026_url: str):
    made = {"feb2026": connect(feb2026_url), "mar2026": connect(mar2026_url)}
    yield made
    for e in made.values():
        e.dispose()


# ---- The fixtures are what real-opentier.md describes ------------------------------------------------------


def test_feb2026_fixture_has_that_generations_schema_and_ledgers(feb2026_url: str) -> None:
    assert _one(feb2026_url, "SELECT version FROM _sqlx_migrations ORDER BY 1") == [(v,) for v in FEB_API]
    assert _one(feb2026_url, "SELECT version FROM _intelligence_migrations ORDER BY 1") == [
        (v,) for v in FEB_INTELLIGENCE
    ]
    assert _one(feb2026_url, "SELECT description FROM _sqlx_migrations ORDER BY version")[0] == ("create users table",)
    assert _one(feb2026_url, "SELECT enum_range(NULL::user_role)::text") == [("{user,admin}",)]
    assert _one(feb2026_url, "SELECT to_regclass('knowledge_submissions')") == [(None,)]
    cols = {
        c
        for (c,) in _one(
            feb2026_url, "SELECT column_name FROM information_schema.columns WHERE table_name = 'chat_messages'"
        )
    }
    assert "parent_id" not in cols and {"id", "conversation_id", "created_at", "sources"} <= cols
    types = dict(
        _one(
            feb2026_url,
            "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns "
            "WHERE column_name IN ('metadata', 'sources')",
        )
    )
    assert types["chat_messages.sources"] == "json" and types["conversations.metadata"] == "json"
    assert types["documents.metadata"] == "jsonb"
    indexes = {i for (i,) in _one(feb2026_url, "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")}
    assert {
        "idx_document_chunks_embedding_hnsw",
        "idx_sessions_token",
        "idx_accounts_provider_account",
        "sessions_session_token_key",
        "ix_chat_messages_conversation_id",
    } <= indexes
    assert _one(feb2026_url, "SELECT count(*) FROM pg_proc WHERE proname = 'hybrid_search'") == [(1,)]


def test_mar2026_fixture_is_the_kits_schema_under_other_versions(mar2026_url: str, migrated_url: str) -> None:
    assert without_ledger(catalog(mar2026_url))["columns"] == without_ledger(catalog(migrated_url))["columns"]
    versions = [v for (v,) in _one(mar2026_url, "SELECT version FROM _sqlx_migrations ORDER BY 1")]
    assert versions[0] == fixtures.MAR_FIRST_VERSION and len(versions) == 16
    assert _one(mar2026_url, "SELECT to_regclass('_intelligence_migrations')") == [(None,)]


def test_rows_are_shaped_as_the_services_write_them(engines, feb2026_url: str, mar2026_url: str) -> None:
    for generation, url in (("feb2026", feb2026_url), ("mar2026", mar2026_url)):
        as_of = fixture_rows.AS_OF[generation]
        sessions = load("sessions", engine=engines[generation])
        assert (sessions["created_at"] > pd.Timestamp(as_of) - pd.Timedelta(days=7)).all()  # purged after 7 days
        assert (sessions["expires_at"] - sessions["created_at"] == pd.Timedelta(hours=168)).all()
        assert sessions["session_token"].str.fullmatch(r"[A-Za-z0-9]{64}").all()
        answers = _one(
            url,
            "SELECT sources::text, metadata::text FROM chat_messages WHERE role = 'assistant' AND content <> %s",
            fixture_rows.FAILED_ANSWER,
        )
        for sources, meta in answers:
            sources, meta = json.loads(sources), json.loads(meta)
            assert len(sources) == 5 and set(sources[0]) == {"chunk_id", "document_id", "relevance_score", "content"}
            assert 0.005 <= sources[-1]["relevance_score"] < sources[0]["relevance_score"] <= 0.016
            assert {"retrieval_time_ms", "generation_time_ms", "total_time_ms", "sources_retrieved"} <= set(
                meta["metrics"]
            )
        assert _one(url, "SELECT count(*) FROM chat_messages WHERE role = 'system'") == [(0,)]
        assert _one(url, "SELECT max(length(content)) <= 512 FROM document_chunks") == [(True,)]
        assert _one(url, "SELECT bool_and(length(title) <= 50) FROM conversations") == [(True,)]


def test_a_fixture_builds_the_same_rows_every_time(pg) -> None:
    dumps = []
    for name in ("t_gen_again_1", "t_gen_again_2"):
        url = pg.create_db(name)
        fixtures.build("mar2026", url)
        dumps.append(
            _one(url, "SELECT id, parent_id, created_at, content, sources::text FROM chat_messages ORDER BY id")
        )
        pg.drop_db(name)
    assert dumps[0] == dumps[1] and len(dumps[0]) > 100


def test_a_fixture_is_built_only_into_an_empty_database(mar2026_url: str) -> None:
    with pytest.raises(SystemExit, match="give an empty database"):
        fixtures.build("feb2026", mar2026_url)


# ---- Who migrated it: reported, from the ledgers ----------------------------------------------------------


def test_provenance_names_each_ledger(feb2026_url: str, mar2026_url: str, migrated_url: str, fresh_url: str) -> None:
    feb = provenance.of_url(feb2026_url)
    assert [(led.table, led.owner, len(led.versions), led.latest) for led in feb.ledgers] == [
        ("_sqlx_migrations", "sqlx", 7, "20260114000003"),
        ("_intelligence_migrations", "intelligence", 7, "20260115000009"),
    ]
    assert not feb.kit and not feb.writable and len(feb.opentier_tables) == 12
    assert feb.summary().startswith("Not migrated by the kit: it carries a sqlx ledger _sqlx_migrations")
    mar = provenance.of_url(mar2026_url)
    assert [(led.owner, len(led.versions)) for led in mar.ledgers] == [("sqlx", 16)] and not mar.writable
    kit = provenance.of_url(migrated_url)
    assert (
        kit.kit
        and kit.writable
        and kit.summary().startswith("Migrated by the kit: it carries the kit's own sqlx ledger")
    )
    empty = provenance.of_url(fresh_url)
    assert empty.ledgers == () and empty.writable and not empty.kit


# ---- What a notebook needs: the catalog only ----------------------------------------------------------------


def test_require_data_reads_the_catalog_not_the_ledger(engines) -> None:
    require_data(engines["feb2026"])
    require_data(engines["mar2026"])
    require_data(engines["mar2026"], "knowledge_submissions")
    with pytest.raises(NotMigrated) as err:
        require_data(engines["feb2026"], "knowledge_submissions")
    message = str(err.value)
    assert "has no table 'knowledge_submissions', which this notebook needs" in message
    assert "\n" not in message and "opentier-explore migrate" not in message
    with pytest.raises(
        NotMigrated,
        match="has no table 'nightly_rollup', which this notebook needs: the kit reads this "
        "database as it is, so this notebook does not apply to it.$",
    ):
        require_data(engines["mar2026"], "nightly_rollup")


def test_an_empty_foreign_database_is_named_without_advice_to_seed(pg, generation_templates) -> None:
    url = pg.create_db("t_gen_empty_foreign", template=generation_templates["feb2026"])
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("TRUNCATE users, conversations CASCADE")
        engine = connect(url)
        with pytest.raises(NotMigrated, match="holds no OpenTier data yet") as err:
            require_data(engine)
        assert "seed" not in str(err.value)
        engine.dispose()
    finally:
        pg.drop_db("t_gen_empty_foreign")


# ---- The metrics on both generations -----------------------------------------------------------------------


@pytest.mark.parametrize("generation", fixtures.GENERATIONS)
def test_both_paths_agree_on_both_generations(engines, generation: str) -> None:
    engine = engines[generation]
    frames = load_all(engine=engine)
    assert isinstance(frames["chat_messages"]["sources"].iloc[0], list)  # JSON and JSONB both decode
    for fn in (metrics.conversation_trees, metrics.tree_faults, metrics.branch_kinds):
        sql, pandas = fn(engine), fn(frames)
        assert sql.equals(pandas), fn.__name__
    edges = metrics.message_edges(engine)
    assert metrics.conversation_trees({"chat_messages": edges}).equals(metrics.conversation_trees(engine))
    churn_sql, churn_pd = metrics.session_churn(engine), metrics.session_churn(frames)
    pd.testing.assert_frame_equal(churn_sql.sessions_per_user.to_frame(), churn_pd.sessions_per_user.to_frame())
    assert metrics.tree_faults(engine).empty


def test_without_parent_id_each_conversation_is_a_linear_chain(engines) -> None:
    engine = engines["feb2026"]
    assert not metrics.has_parent_id(engine)
    trees = metrics.conversation_trees(engine)
    assert (trees["max_depth"] == trees["n_messages"]).all() and (trees["n_roots"] == 1).all()
    assert (trees["n_branch_points"] == 0).all() and (trees["n_leaves"] == 1).all() and trees["max_children"].max() == 1
    assert metrics.branch_kinds(engine).to_numpy().sum() == 0
    # The chain is the created_at, then id, order: checked against an independent reading of the rows.
    edges = metrics.message_edges(engine)
    chat = load("chat_messages", engine=engine, columns=["id", "conversation_id", "created_at"])
    for _, conv in chat.sort_values(["conversation_id", "created_at", "id"]).groupby("conversation_id"):
        ids = conv["id"].tolist()
        assert edges.set_index("id").loc[ids, "parent_id"].tolist() == [None, *ids[:-1]]


def test_a_tie_on_created_at_is_broken_by_id_on_both_paths(engines) -> None:
    engine = engines["feb2026"]
    chat = load("chat_messages", engine=engine)
    tied = chat[chat.duplicated(["conversation_id", "created_at"], keep=False)]
    assert len(tied) == 2  # the failed generation, stored with its question in one transaction
    first, second = sorted(tied["id"])
    edges = metrics.message_edges(engine).set_index("id")
    assert edges.loc[second, "parent_id"] == first
    depth = metrics.message_depths({"chat_messages": chat})
    position = {m: chat.index[chat["id"] == m][0] for m in (first, second)}
    assert int(depth[position[second]]) == int(depth[position[first]]) + 1


def test_with_parent_id_the_recorded_branches_count(engines) -> None:
    engine = engines["mar2026"]
    assert metrics.has_parent_id(engine)
    kinds = metrics.branch_kinds(engine)
    assert kinds.loc["regenerated_answer", "branch_points"] > 0 and kinds.loc["edited_question", "branch_points"] > 0
    assert kinds.loc["edited_first_question", "branch_points"] == 1
    mod = metrics.moderation_latency(engine)
    assert mod.by_status.sum() == 16 and mod.inconsistent.empty
    assert len(metrics.session_churn(engine).stale_roles) == 1


def test_the_by_hand_command_builds_a_fixture_and_prints_its_url(pg) -> None:
    import subprocess
    import sys

    from opentier_explore import config

    url = pg.create_db("t_gen_by_hand")
    try:
        out = subprocess.run(
            [sys.executable, "-m", "tests.fixtures", "feb2026", url],
            capture_output=True,
            text=True,
            cwd=config.PROJECT_DIR,
            timeout=120,
        )
        assert out.returncode == 0 and out.stdout.strip() == url and "built the feb2026 fixture" in out.stderr
        assert not provenance.of_url(url).writable
        again = subprocess.run(
            [sys.executable, "-m", "tests.fixtures", "feb2026", url],
            capture_output=True,
            text=True,
            cwd=config.PROJECT_DIR,
            timeout=120,
        )
        assert again.returncode != 0 and "give an empty database" in again.stderr and "Traceback" not in again.stderr
    finally:
        pg.drop_db("t_gen_by_hand")
