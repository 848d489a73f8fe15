"""The trees' one edge source: parent_id kept when recorded, synthesized as linear chains when it is not."""

from __future__ import annotations

import pandas as pd
import pytest

from opentier_explore import metrics
from opentier_explore.metrics import _edges

T0 = pd.Timestamp("2026-02-01T10:00Z")
A, B, C, D, E = (f"0000000{i}-0000-4000-8000-000000000000" for i in range(1, 6))


def _chat() -> pd.DataFrame:
    # Out of order on purpose; D and C tie on created_at (then id order: C before D).
    return pd.DataFrame(
        {
            "id": [D, A, C, B, E],
            "conversation_id": ["k2", "k1", "k2", "k1", "k1"],
            "created_at": pd.Series(
                [T0 + pd.Timedelta(minutes=m) for m in (5, 0, 5, 1, 2)], dtype="datetime64[ns, UTC]"
            ),
            "role": ["assistant", "user", "user", "assistant", "user"],
        }
    )


def test_linear_parents_follow_created_at_then_id_within_each_conversation() -> None:
    assert _edges.linear_parents(_chat()).tolist() == [C, None, None, A, B]


def test_edges_frame_keeps_a_recorded_parent_id_as_it_is() -> None:
    chat = _chat().assign(parent_id=[None, None, None, None, None])
    out = _edges.edges_frame({"chat_messages": chat}, "test")
    assert out.columns.tolist() == ["id", "conversation_id", "parent_id"] and out["parent_id"].isna().all()


def test_without_parent_id_the_metrics_see_linear_chains() -> None:
    frames = {"chat_messages": _chat()}
    trees = metrics.conversation_trees(frames)
    assert trees["n_messages"].tolist() == [3, 2] and trees["max_depth"].tolist() == [3, 2]
    assert trees["n_roots"].tolist() == [1, 1] and trees["n_branch_points"].sum() == 0
    assert metrics.tree_faults(frames).empty
    assert metrics.branch_kinds(frames).to_numpy().sum() == 0
    assert metrics.message_depths(frames).tolist() == [2, 1, 1, 2, 3]


def test_an_empty_frame_without_parent_id_gives_no_trees() -> None:
    assert metrics.conversation_trees({"chat_messages": _chat().iloc[:0]}).empty


def test_missing_order_columns_are_one_sentence() -> None:
    with pytest.raises(Exception, match="or at least 'created_at'"):
        metrics.conversation_trees({"chat_messages": _chat().drop(columns="created_at")})
