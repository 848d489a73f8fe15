"""Hand-built chat_messages forest for branch_kinds, shared by the unit and integration tests."""

from __future__ import annotations

import pandas as pd

# Conversation A: u1 → {a1, a2} (regenerated), a1 → {u2, u3} (edited), u3 → a3.
# Conversation B: two roots (edited first question), each answered.
# Conversation C: p → {u, a} (mixed); plus a child whose parent sits in A (not a tree edge of C).
ROWS = [
    ("u1", "A", None, "user"),
    ("a1", "A", "u1", "assistant"),
    ("a2", "A", "u1", "assistant"),
    ("u2", "A", "a1", "user"),
    ("u3", "A", "a1", "user"),
    ("a3", "A", "u3", "assistant"),
    ("r1", "B", None, "user"),
    ("r2", "B", None, "user"),
    ("b1", "B", "r1", "assistant"),
    ("b2", "B", "r2", "assistant"),
    ("p", "C", None, "system"),
    ("cu", "C", "p", "user"),
    ("ca", "C", "p", "assistant"),
    ("x", "C", "u1", "assistant"),
]


def frames() -> dict[str, pd.DataFrame]:
    return {"chat_messages": pd.DataFrame(ROWS, columns=["id", "conversation_id", "parent_id", "role"])}
