"""branch_kinds on a hand-built forest, answers counted by hand."""

from __future__ import annotations

import pandas as pd

from branching_cases import frames
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
    linear = pd.DataFrame([("m1", "A", None, "user"), ("m2", "A", "m1", "assistant")], columns=["id", "conversation_id", "parent_id", "role"])
    assert branch_kinds({"chat_messages": linear}).to_numpy().sum() == 0
