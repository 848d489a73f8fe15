"""branch_kinds on a hand-built forest, answers counted by hand."""

from __future__ import annotations

import pandas as pd
from metric_cases.branching import branching_frames as frames

from opentier_explore.metrics.branching import branch_kinds


def test_branch_kinds_counts_by_hand() -> None:
    out = branch_kinds(frames())
    assert out.to_dict("index") == {
        "regenerated_answer": {"branch_points": 1, "alternatives": 2},
        "edited_question": {"branch_points": 1, "alternatives": 2},
        "edited_first_question": {"branch_points": 1, "alternatives": 2},
        "mixed": {"branch_points": 1, "alternatives": 2},
    }
    assert list(out.dtypes) == ["int64", "int64"]


def test_branch_kinds_of_a_linear_chat_is_all_zero() -> None:
    linear = pd.DataFrame(
        [("m1", "A", None, "user"), ("m2", "A", "m1", "assistant")],
        columns=["id", "conversation_id", "parent_id", "role"],
    )
    assert branch_kinds({"chat_messages": linear}).to_numpy().sum() == 0


def test_tree_summary_by_hand() -> None:
    import pandas as pd

    from opentier_explore.metrics.trees import tree_summary

    trees = pd.DataFrame(
        {
            "n_messages": [1, 4, 6, 9],
            "n_roots": [1, 1, 2, 1],
            "max_depth": pd.array([1, 4, 3, 8], dtype="Int64"),
            "n_branch_points": [0, 0, 0, 2],
        }
    )
    s = tree_summary(trees)
    assert s["conversations"] == 4
    assert s["linear_share"] == 0.5  # the two-root and the branching conversations are not linear
    assert s["median_depth"] == 3.5 and s["max_depth"] == 8
    assert abs(s["p90_depth"] - 6.8) < 1e-9  # sorted 1,3,4,8: position 2.7 → 4 + 0.7 × (8 − 4)
    assert s["median_messages"] == 5.0 and s["messages"] == 20
