"""conversation_trees / tree_faults in pandas on hand-built trees (answers in metric_cases)."""

from __future__ import annotations

import metric_cases as mc
import numpy as np
import pandas as pd
import pytest

from opentier_explore import metrics
from opentier_explore.errors import SchemaError


def test_trees_and_faults_match_hand_computed_answers():
    mc.assert_trees(mc.tree_frames())


def test_message_depths():
    depths = metrics.message_depths(mc.tree_frames())
    ids = mc.tree_frames()["chat_messages"]["id"]
    got = {i: int(d) for i, d in zip(ids, depths) if not pd.isna(d)}
    assert got == mc.EXPECTED_DEPTHS


def test_row_order_does_not_matter():
    frames = mc.tree_frames()
    frames["chat_messages"] = frames["chat_messages"].iloc[::-1].reset_index(drop=True)
    mc.assert_trees(frames)


def test_long_chain_and_long_cycle_finish():
    n = 5000
    ids = [mc.uid(10_000 + i) for i in range(n)]
    chain = pd.DataFrame({"id": ids, "conversation_id": mc.conv(1), "parent_id": [None] + ids[:-1]}, dtype=object)
    trees = metrics.conversation_trees({"chat_messages": chain})
    assert trees["max_depth"].tolist() == [n] and trees["n_leaves"].tolist() == [1]
    cycle = chain.copy()
    cycle.loc[0, "parent_id"] = ids[-1]  # the root now points at the last message: one cycle of n messages
    faults = metrics.tree_faults({"chat_messages": cycle})
    assert len(faults) == n and set(faults["fault"]) == {"cycle"}
    assert metrics.conversation_trees({"chat_messages": cycle})["max_depth"].isna().all()


def test_empty_table():
    empty = pd.DataFrame({"id": [], "conversation_id": [], "parent_id": []}, dtype=object)
    assert metrics.conversation_trees({"chat_messages": empty}).empty
    assert metrics.tree_faults({"chat_messages": empty}).empty


def test_missing_parent_id_and_created_at_columns_is_one_clear_error():
    frames = {"chat_messages": mc.tree_frames()["chat_messages"].drop(columns=["parent_id", "created_at"])}
    with pytest.raises(SchemaError, match="'parent_id' of table 'chat_messages', or at least 'created_at'"):
        metrics.conversation_trees(frames)
    with pytest.raises(SchemaError, match="needs table 'chat_messages'"):
        metrics.tree_faults({})


def test_key_matching_falls_back_to_strings_when_halves_collide():
    from opentier_explore.metrics import _keys

    a, b, c = (
        "00000000-0000-4000-8000-000000000001",
        "00000000-0000-4000-8000-000000000002",
        "11111111-0000-4000-8000-000000000001",
    )  # high halves and low halves both repeat
    ids = np.array([a, b, c], dtype=object)
    parents = np.array([None, a, "not-a-uuid"], dtype=object)
    assert _keys.parent_rows(ids, parents).tolist() == [-1, 0, -2]
    parents = np.array([c, None, b], dtype=object)
    assert _keys.parent_rows(ids, parents).tolist() == [2, -1, 1]
    lower = "abcdef00-0000-4000-8000-000000000001"
    upper = np.array([lower.upper(), lower], dtype=object)  # different strings, same UUID value
    codes, uniques = _keys.sorted_codes(upper)
    assert len(uniques) == 2 and _keys.uuid_halves(upper, np.zeros(2, bool)) is None


def test_conversation_codes_sort_like_strings_with_and_without_repeated_high_halves():
    from opentier_explore.metrics import _keys

    a, b, c = (
        "00000000-0000-4000-8000-000000000002",
        "00000000-0000-4000-8000-000000000001",
        "ffffffff-0000-4000-8000-000000000000",
    )
    for values in (np.array([c, a, c, b, a], dtype=object), np.array([c, a, c, a], dtype=object)):
        codes, uniques = _keys.sorted_codes(values)  # a, b share the high half: the string path decides
        want_codes, want = pd.factorize(values, sort=True)
        assert uniques.tolist() == list(want) and codes.tolist() == want_codes.tolist()
    codes, uniques = _keys.sorted_codes(pd.Series([c, a, c], dtype="str").array)
    assert uniques.tolist() == [a, c] and codes.tolist() == [1, 0, 1]  # Arrow strings
    codes, uniques = _keys.sorted_codes(pd.Series([c, a, c, b, a], dtype="str").array)  # Arrow, a and b share hi
    assert uniques.tolist() == [b, a, c] and codes.tolist() == [2, 1, 2, 0, 1]


def test_same_low_half_different_uuid_is_not_a_match():
    from opentier_explore.metrics import _keys

    ids = np.array(["00000000-0000-4000-8000-000000000001"], dtype=object)
    parents = np.array(["99999999-0000-4000-8000-000000000001"], dtype=object)
    assert _keys.parent_rows(ids, parents).tolist() == [-2]


def test_arrow_strings_parse_like_python_strings():
    import uuid

    from opentier_explore.metrics import _keys

    rng = np.random.default_rng(7)
    values = [str(uuid.UUID(int=int(x))) for x in rng.integers(0, 2**62, 50)]
    values[3] = values[17] = None
    obj = np.array(values, dtype=object)
    arrow = pd.array(values, dtype=pd.StringDtype("pyarrow", na_value=np.nan))
    missing = np.array([v is None for v in values])
    want, got = _keys.uuid_halves(obj, missing), _keys.uuid_halves(arrow, missing)
    assert got is not None and np.array_equal(want[0], got[0]) and np.array_equal(want[1], got[1])
    assert _keys.parent_rows(arrow[::-1], arrow).tolist() == _keys.parent_rows(obj[::-1], obj).tolist()
    odd = pd.array([values[0].upper(), "not-a-uuid", None], dtype=pd.StringDtype("pyarrow", na_value=np.nan))
    assert _keys.uuid_halves(odd, np.array([False, False, True])) is None  # not canonical: the string path decides
    assert _keys.parent_rows(odd, odd).tolist() == [0, 1, -1]


def _arrow_frames(chunks: int = 1) -> dict[str, pd.DataFrame]:
    """tree_frames() with load()'s Arrow-backed `str` columns, each split into `chunks` Arrow chunks."""
    import pyarrow as pa

    df = mc.tree_frames()["chat_messages"]
    out = df[["created_at"]].copy()
    for col in ("id", "conversation_id", "parent_id"):
        values = df[col].tolist()
        cuts = np.linspace(0, len(values), chunks + 1).astype(int)
        arr = pa.chunked_array([pa.array(values[a:b], pa.large_string()) for a, b in zip(cuts[:-1], cuts[1:])])
        out[col] = pd.array(arr, dtype=pd.StringDtype("pyarrow", na_value=np.nan))
    return {"chat_messages": out[["id", "conversation_id", "parent_id", "created_at"]]}


@pytest.mark.parametrize("chunks", [1, 3, 39])
def test_arrow_strings_in_one_or_many_chunks_give_the_hand_computed_answers(chunks):
    frames = _arrow_frames(chunks)
    assert frames["chat_messages"]["id"].array._pa_array.num_chunks == chunks  # the path load() takes
    mc.assert_trees(frames)
    frames["chat_messages"] = frames["chat_messages"].iloc[::-1].reset_index(drop=True)
    mc.assert_trees(frames)


def test_arrow_frames_without_parent_id_are_linear_chains_as_object_frames_are():
    frames = _arrow_frames(3)
    frames["chat_messages"] = frames["chat_messages"].drop(columns="parent_id")
    objects = {"chat_messages": mc.tree_frames()["chat_messages"].drop(columns="parent_id")}
    pd.testing.assert_frame_equal(metrics.conversation_trees(frames), metrics.conversation_trees(objects))
    assert metrics.conversation_trees(frames)["n_branch_points"].sum() == 0
    assert metrics.tree_faults(frames).empty


def test_parents_match_on_all_36_bytes_whatever_the_hash():
    from opentier_explore.metrics import _keys

    ids = np.array([mc.uid(k) for k in range(40)], dtype=object)
    parents = np.array([mc.uid(k) for k in (39, 0, 7, 99, 7)], dtype=object)
    rows_i, rows_p = _keys.text_rows(ids, np.zeros(40, bool)), _keys.text_rows(parents, np.zeros(5, bool))
    every_hash_collides = lambda rows: np.zeros(len(rows), np.uint64)  # noqa: E731 - the probing path
    assert _keys._merged_rows(rows_i, rows_p, every_hash_collides).tolist() == [39, 0, 7, -2, 7]
    assert _keys._merged_rows(rows_i, rows_p).tolist() == [39, 0, 7, -2, 7]
    many = np.array([mc.uid(k) for k in range(200)], dtype=object)  # too many probes: None, the string path decides
    assert _keys._merged_rows(_keys.text_rows(many, np.zeros(200, bool)), rows_p, every_hash_collides) is None
    dup = np.array([mc.uid(1), mc.uid(2), mc.uid(1)], dtype=object)  # a repeated id: its first row, as factorize
    assert _keys.parent_rows(dup, np.array([mc.uid(1), None], dtype=object)).tolist() == [0, -1]


@pytest.mark.parametrize("collide", [False, True])
def test_parents_match_in_blocks_across_arrow_chunks(monkeypatch, collide):
    import pyarrow as pa

    from opentier_explore.metrics import _keys

    monkeypatch.setattr(_keys, "_BLOCK", 3)  # blocks that straddle chunks and end mid-chunk
    ids = [mc.uid(k) for k in range(40)]
    parents = [
        mc.uid(k) if k < 40 else (None if k % 2 else mc.uid(1000 + k)) for k in np.random.default_rng(5).permutation(50)
    ]
    want = [ids.index(p) if p in ids else (-1 if p is None else -2) for p in parents]

    def chunked(values: list, cuts: list[int]):
        parts = [pa.array(values[a:b], pa.large_string()) for a, b in zip([0, *cuts], [*cuts, len(values)])]
        return pd.array(pa.chunked_array(parts), dtype=pd.StringDtype("pyarrow", na_value=np.nan))

    arrow_ids, arrow_parents = chunked(ids, [1, 2, 9, 20, 21, 33]), chunked(parents, [4, 5, 17, 40])
    if not collide:
        assert _keys.parent_rows(arrow_ids, arrow_parents).tolist() == want
    null = np.array([p is None for p in parents])
    rows_i, rows_p = _keys.text_parts(arrow_ids, np.zeros(40, bool)), _keys.text_parts(arrow_parents, null)
    assert len(rows_i.parts) == 7 and len(rows_p.parts) == 5  # Arrow's chunks, not joined
    hashed = (lambda rows: np.zeros(len(rows), np.uint64)) if collide else None  # collide: every pair is probed
    assert _keys._merged_rows(rows_i, rows_p, hashed).tolist() == [w for w in want if w != -1]


def test_ids_of_other_lengths_or_characters_take_the_string_path():
    from opentier_explore.metrics import _keys

    odd = pd.array(["short", "é" * 36, "x" * 36, None], dtype=pd.StringDtype("pyarrow", na_value=np.nan))
    assert _keys.text_rows(odd, np.array([False, False, False, True])) is None
    assert _keys.parent_rows(odd, odd[::-1]).tolist() == [-1, 2, 1, 0]
    assert _keys.text_rows(np.array(["é" * 36], dtype=object), np.zeros(1, bool)) is None
    same_length = pd.array(["k" * 36, "j" * 36], dtype=pd.StringDtype("pyarrow", na_value=np.nan))  # not UUIDs
    assert _keys.parent_rows(same_length, same_length[::-1]).tolist() == [1, 0]
    codes, uniques = _keys.sorted_codes(same_length)
    assert codes.tolist() == [1, 0] and uniques.tolist() == ["j" * 36, "k" * 36]


def test_empty_and_all_null_arrow_columns():
    arrow = pd.StringDtype("pyarrow", na_value=np.nan)
    empty = pd.DataFrame({c: pd.array([], dtype=arrow) for c in ("id", "conversation_id", "parent_id")})
    assert metrics.conversation_trees({"chat_messages": empty}).empty
    assert metrics.tree_faults({"chat_messages": empty}).empty
    roots = pd.DataFrame(
        {
            "id": pd.array([mc.uid(1), mc.uid(2)], dtype=arrow),
            "conversation_id": pd.array([mc.conv(1), mc.conv(2)], dtype=arrow),
            "parent_id": pd.array([None, None], dtype=arrow),
        }
    )
    trees = metrics.conversation_trees({"chat_messages": roots})
    assert trees["n_roots"].tolist() == [1, 1] and trees["max_depth"].tolist() == [1, 1]
    assert metrics.message_depths({"chat_messages": roots}).tolist() == [1, 1]
