"""convert.SharedStrings: equal strings in parsed JSON values become one object; nothing else changes."""

from __future__ import annotations

import copy

import orjson

from opentier_explore.convert import SharedStrings


def _parsed(values: list) -> list:
    """Each value as orjson parses it, one text at a time (equal strings are then distinct objects)."""
    return [orjson.loads(orjson.dumps(v)) for v in values]


def _answers(n: int, start: int = 0) -> list:
    return _parsed(
        [{"chunk_id": f"c{i % 3}", "relevance_score": 0.5, "content": "text " * (i % 3 + 1)}] * 2
        for i in range(start, start + n)
    )


def test_equal_strings_in_arrays_of_objects_become_one_object_across_batches():
    share = SharedStrings()
    first, second = _answers(6), _answers(6, start=6)
    want = copy.deepcopy(first + second)
    assert len({id(item["content"]) for answer in first for item in answer}) == 12
    share.apply(first)
    share.apply(second)
    assert first + second == want
    contents = [item["content"] for answer in first + second for item in answer]
    assert len({id(c) for c in contents}) == 3  # one object per distinct text, across both batches


def test_top_level_objects_are_shared_and_other_values_left_as_they_are():
    values = _parsed([{"model": "m" * 40, "n": 1}, {"model": "m" * 40, "n": True}, {"model": "m" * 40, "n": 1.0}])
    values += [None, 3, "x"]
    want = copy.deepcopy(values)
    SharedStrings().apply(values)
    assert values == want and [type(v["n"]) for v in values[:3]] == [int, bool, float]
    assert values[0]["model"] is values[1]["model"] is values[2]["model"]


def test_a_key_missing_somewhere_or_of_mixed_types_is_left_alone():
    values = _parsed([{"a": "s" * 30, "b": "t" * 30}, {"a": "s" * 30}, {"b": "t" * 30, "a": 1}])
    want = copy.deepcopy(values)
    SharedStrings().apply(values)
    assert values == want
    assert values[0]["a"] is not values[1]["a"] and values[0]["b"] is not values[2]["b"]


def test_a_key_of_mostly_distinct_strings_stops_being_shared():
    share = SharedStrings()
    share.TRIAL = 10
    share.apply(_parsed([{"id": f"u{i}", "kind": "k" * 30} for i in range(20)]))
    later = _parsed([{"id": "same" * 10, "kind": "k" * 30}] * 2)
    share.apply(later)
    assert later[0]["kind"] is later[1]["kind"]  # still shared: 1 distinct in 22
    assert later[0]["id"] is not later[1]["id"]  # given up: 20 distinct in the first 20
