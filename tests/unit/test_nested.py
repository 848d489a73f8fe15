"""nested.NestedColumn: JSON texts batch by batch into Arrow nested types, equal to orjson's parse, or the texts."""

from __future__ import annotations

import orjson
import pyarrow as pa
import pytest

from opentier_explore import nested


def _column(batches: list[list[str | None]], type_name: str = "jsonb") -> pa.ChunkedArray:
    col = nested.NestedColumn(type_name)
    for texts in batches:
        col.add(pa.array(texts, pa.string()))
    return col.finish(pa.string())


def _values(chunked: pa.ChunkedArray) -> list:
    if isinstance(chunked.type, pa.JsonType):
        return [None if t is None else orjson.loads(t) for t in chunked.to_pylist()]
    return chunked.to_pylist()


def _parsed(batches: list[list[str | None]]) -> list:
    return [None if t is None else orjson.loads(t) for texts in batches for t in texts]


SOURCE = '{"chunk_id": "c%d", "content": "text %d", "relevance_score": %s}'


def test_a_list_of_objects_is_nested_with_dictionary_strings_across_batches():
    batches = [
        ["[" + ", ".join(SOURCE % (k % 7, k % 7, k / 10) for k in range(i, i + 3)) + "]", "[]"] for i in range(20)
    ]
    out = _column(batches)
    string = pa.dictionary(pa.int32(), pa.string())
    item = pa.struct([("chunk_id", string), ("content", string), ("relevance_score", pa.float64())])
    assert out.type == pa.list_(item)
    assert _values(out) == _parsed(batches)
    dictionaries = {id(chunk.values.field(0).dictionary) for chunk in out.chunks if len(chunk.values)}
    assert len(dictionaries) == 1  # one dictionary for the place, shared by every batch
    assert out.chunk(0).values.field(0).dictionary.to_pylist() == [f"c{k}" for k in range(7)]


def test_types_merge_across_batches_null_empty_list_and_int_then_float():
    batches = [
        ['{"a": [null], "b": [], "n": 1}', None],
        ['{"a": [{"x": true}, null], "b": [{"k": "v"}], "n": 2.5}'],
        ["null", '{"a": [{"x": false}], "b": [], "n": 3}'],
    ]
    out = _column(batches)
    assert pa.types.is_struct(out.type) and out.type.field("n").type == pa.float64()
    assert out.type.field("b").type.value_type.field("k").type == pa.dictionary(pa.int32(), pa.string())
    assert _values(out) == _parsed(batches)  # 1 == 1.0: numbers at one place share float64 once one is a fraction


@pytest.mark.parametrize(
    "batches",
    [
        [['{"a": 1}', '{"a": "x"}']],  # a number and a string at one place
        [['{"a": 1}'], ["[1]"]],  # an object, then an array
        [['{"a": 1}', "{}"]],  # a key absent from one object: a struct would read it back as null
        [['{"a": null}', '{"a": 2}']],  # a null value under a key (nested cannot tell it from an absent key)
        [['{"a": 1}'], ['{"a": 1, "b": 2}']],  # a key that earlier batches did not have
        [['{"m": {"p": 1}}'], ['{"m": {"q": 2}}']],
        [['[1, "x", {"y": null}]']],
        [['{"id": 12345678901234567890}']],  # past int64: Arrow would make it a float
        [['{"id": 1234567890123456789, "f": 0.5}', '{"id": 1, "f": 1}']],
        [["9007199254740993"]],  # 2**53 + 1: exact in int64, but not once merged with a fraction
        [["[1e300]"]],
        [["[1, 2]"], ['"x"'], ["3"]],
    ],
)
def test_json_whose_values_do_not_share_one_type_falls_back_to_the_texts(batches):
    out = _column(batches)
    assert out.type == pa.json_(pa.string())
    assert _values(out) == _parsed(batches)


def test_a_fall_back_after_nested_batches_keeps_every_value():
    batches = [['{"a": [1, 2], "s": "x"}'] * 3, ['{"a": [3], "s": "y"}'], ['{"a": "now a string", "s": "z"}']]
    out = _column(batches)
    assert out.type == pa.json_(pa.string()) and _values(out) == _parsed(batches)


@pytest.mark.parametrize(
    "texts",
    [
        ['"2024-01-01"', '"2024-01-02T03:04:05"'],  # strings Arrow would take for timestamps
        ['{"when": "2024-01-01", "tags": ["2025-01-01"]}'],
        ['"é✓ \\u00e9 \\"quoted\\" \\n"', '""'],
        ["3.5", "-0.25", "1e-300"],
        ["true", "false", "null", None],
        ["[[1, 2], [3, 4]]", "[[]]", "[]"],
        ["{}", "{}"],
        ["[]", "[]"],
        [None, None],
    ],
)
def test_awkward_json_round_trips_as_orjson_parses_it(texts):
    out = _column([texts])
    assert _values(out) == _parsed([texts])
    assert not pa.types.is_timestamp(out.type)


def test_timestamp_like_strings_stay_strings():
    out = _column([['{"when": "2024-01-01"}']])
    assert out.type == pa.struct([("when", pa.dictionary(pa.int32(), pa.string()))])


def test_json_with_newlines_between_tokens_parses():
    texts = ['{\n  "a": [1,\r\n 2],\n "s": "line\\nbreak"\n}', '{"a": [], "s": ""}']
    out = _column([texts], type_name="json")
    assert pa.types.is_struct(out.type) and _values(out) == _parsed([texts])


def test_mostly_distinct_strings_stop_being_dictionary_encoded(monkeypatch):
    monkeypatch.setattr(nested, "_MIN_VALUES", 10)
    monkeypatch.setattr(nested, "_MERGE_EVERY", 2)
    batches = [[f'{{"id": "u{i}-{j}", "kind": "k{j % 2}"}}' for j in range(10)] for i in range(6)]
    out = _column(batches)
    assert out.type == pa.struct([("id", pa.string()), ("kind", pa.dictionary(pa.int32(), pa.string()))])
    assert _values(out) == _parsed(batches)


def test_no_rows_and_empty_batches_give_empty_texts():
    assert _column([]).type == pa.json_(pa.string()) and len(_column([])) == 0
    out = _column([[], ['{"a": 1}'], []])
    assert out.type == pa.struct([("a", pa.int64())]) and _values(out) == [{"a": 1}]


def test_merge_finds_the_common_type_or_none():
    s = pa.struct
    assert nested.merge(None, pa.int64()) == pa.int64()
    assert nested.merge(pa.null(), pa.list_(pa.int64())) == pa.list_(pa.int64())
    assert nested.merge(pa.list_(pa.null()), pa.list_(pa.float64())) == pa.list_(pa.float64())
    assert nested.merge(s([("a", pa.int64())]), s([("a", pa.float64())])) == s([("a", pa.float64())])
    assert nested.merge(s([("a", pa.int64())]), s([("b", pa.int64())])) is None
    assert nested.merge(pa.string(), pa.int64()) is None
