"""conversation_trees / tree_faults in pandas on hand-built trees (answers in metric_cases)."""

from __future__ import annotations

import pandas as pd
import pytest

import metric_cases as mc
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


def test_missing_parent_id_column_is_one_clear_error():
    frames = {"chat_messages": mc.tree_frames()["chat_messages"].drop(columns="parent_id")}
    with pytest.raises(SchemaError, match="'parent_id' of table 'chat_messages'"):
        metrics.conversation_trees(frames)
    with pytest.raises(SchemaError, match="needs table 'chat_messages'"):
        metrics.tree_faults({})
