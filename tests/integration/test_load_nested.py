"""load(json="nested") on real PostgreSQL: JSON columns as Arrow nested types equal to orjson's parse, or the texts."""

from __future__ import annotations

import json

import orjson
import pandas as pd
import psycopg
import pyarrow as pa
import pytest

from opentier_explore import config, connect, load

STRING = pa.dictionary(pa.int32(), pa.string())


@pytest.fixture(scope="module")
def engine(tiny_url):
    eng = connect(tiny_url)
    yield eng
    eng.dispose()


def _values(values) -> list:
    """Each value as Python: parsed when the column fell back to JSON texts."""
    arrow = values if isinstance(values, pa.ChunkedArray) else pa.chunked_array(values.array._pa_array)
    if isinstance(arrow.type, pa.JsonType):
        return [None if t is None else orjson.loads(t) for t in arrow.to_pylist()]
    return arrow.to_pylist()


def test_nested_sources_are_lists_of_structs_equal_to_the_parsed_objects(engine):
    objects = load("chat_messages", engine=engine)
    frame = load("chat_messages", engine=engine, json="nested")
    item = pa.struct(
        [("content", STRING), ("chunk_id", STRING), ("document_id", STRING), ("relevance_score", pa.float64())]
    )
    assert frame["sources"].dtype == pd.ArrowDtype(pa.list_(item))
    assert _values(frame["sources"]) == objects["sources"].tolist()
    assert _values(frame["metadata"]) == objects["metadata"].tolist()
    for name in frame.columns.drop(["sources", "metadata"]):
        assert frame[name].dtype == objects[name].dtype
        pd.testing.assert_series_equal(frame[name], objects[name])


def test_nested_as_arrow_is_the_drivers_table_with_nested_json(engine):
    table = load("chat_messages", engine=engine, json="nested", as_arrow=True)
    plain = load("chat_messages", engine=engine, as_arrow=True)
    assert isinstance(table, pa.Table) and table.column_names == plain.column_names
    for name in plain.column_names:
        if name in ("sources", "metadata"):
            assert _values(table.column(name)) == [json.loads(t) for t in plain.column(name).to_pylist()]
        else:
            assert table.column(name).type == plain.column(name).type
            assert table.column(name).to_pylist() == plain.column(name).to_pylist()
    assert pa.types.is_list(table.schema.field("sources").type)


def test_nested_conversations_metadata_and_an_empty_result(engine):
    conv = load("conversations", engine=engine, columns=["id", "metadata"], json="nested")
    assert _values(conv["metadata"]) == load("conversations", engine=engine, columns=["metadata"])["metadata"].tolist()
    none = load("chat_messages", engine=engine, where="false", json="nested")
    assert len(none) == 0 and none["sources"].dtype == pd.ArrowDtype(pa.json_(pa.string()))
    none = load("chat_messages", engine=engine, where="false", json="nested", as_arrow=True)
    assert none.num_rows == 0 and none.schema.field("sources").type == pa.json_(pa.string())


AWKWARD = {
    "same": ['{"a": [1, 2], "s": "x"}', '{"a": [], "s": "é✓"}', None, "null", '{"a": [3.5], "s": "x"}'],
    "mixed": ['{"a": 1}', '"text"', "[1, 2]", "3.5", "{}", None, "true"],
    "keys": ['{"metrics": {"p": 1}}', "{}", '{"metrics": {"p": 2, "q": 3}}', '{"x": null}'],
    "dates": ['"2024-01-01"', '"2024-01-02 03:04:05"', '"not a date"', None],
    "big": ["12345678901234567890", "1", "0.5", "9007199254740993"],
}


def test_awkward_json_loads_as_orjson_parses_it_in_one_or_many_batches(tiny_url, engine, monkeypatch):
    names = list(AWKWARD)
    with psycopg.connect(tiny_url, autocommit=True) as conn:
        cols = ", ".join(f"{n} jsonb" for n in names)
        conn.execute(f"CREATE TABLE json_awkward (id int PRIMARY KEY, {cols}, raw json)")
        rows = max(map(len, AWKWARD.values()))
        values = [[AWKWARD[n][i % len(AWKWARD[n])] for n in names] for i in range(rows)]
        raw = ['{\n "b": 1,\n "b": 2\n}', '{"b":\r\n 3}']
        with conn.cursor() as cur:
            marks = ", ".join(["%s"] * (len(names) + 2))
            cur.executemany(
                f"INSERT INTO json_awkward VALUES ({marks})", [(i, *v, raw[i % 2]) for i, v in enumerate(values)]
            )
    try:
        for batch_bytes in (config.LOAD_BATCH_BYTES, 64):  # one batch, then one row or two per batch
            monkeypatch.setattr(config, "LOAD_BATCH_BYTES", batch_bytes)
            frame = load("json_awkward", engine=engine, limit=rows, json="nested")
            for j, name in enumerate(names):
                assert _values(frame[name]) == [None if v[j] is None else orjson.loads(v[j]) for v in values], name
            assert _values(frame["raw"]) == [orjson.loads(raw[i % 2]) for i in range(rows)]
            same = frame["same"].dtype.pyarrow_dtype
            assert same == pa.struct([("a", pa.list_(pa.float64())), ("s", STRING)])
            for name in ("mixed", "keys", "big", "raw"):  # kinds or keys differ, integers past 2**53: the texts
                assert frame[name].dtype == pd.ArrowDtype(pa.json_(pa.string())), name
            assert frame["dates"].dtype == pd.ArrowDtype(STRING)  # ISO dates stay strings
    finally:
        with psycopg.connect(tiny_url, autocommit=True) as conn:
            conn.execute("DROP TABLE json_awkward")
