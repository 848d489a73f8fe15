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
