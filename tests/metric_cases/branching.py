"""Hand-built chat_messages forest for branch_kinds: every kind of branch point, counted by hand."""

from __future__ import annotations

import uuid

import pandas as pd

from ._common import Case

# Conversation A: u1 → {a1, a2} (regenerated), a1 → {u2, u3} (edited), u3 → a3.
# Conversation B: two roots (edited first question), each answered.
# Conversation C: p → {u, a} (mixed); plus a child whose parent sits in A (not a tree edge of C).
BRANCH_ROWS = [
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
EXPECTED_KINDS = {
    "regenerated_answer": {"branch_points": 1, "alternatives": 2},
    "edited_question": {"branch_points": 1, "alternatives": 2},
    "edited_first_question": {"branch_points": 1, "alternatives": 2},
    "mixed": {"branch_points": 1, "alternatives": 2},
}


def branching_frames() -> dict[str, pd.DataFrame]:
    """chat_messages of the forest (readable ids) as frames."""
    return {"chat_messages": pd.DataFrame(BRANCH_ROWS, columns=["id", "conversation_id", "parent_id", "role"])}


def forest_uuid(name: str) -> str:
    """The UUID a readable id of the forest gets in the database."""
    return str(uuid.uuid5(uuid.NAMESPACE_OID, name))


def insert_forest(conn) -> None:
    """Insert the forest, its readable ids mapped to UUIDs, children before parents."""
    for conv in sorted({r[1] for r in BRANCH_ROWS}):
        conn.execute("INSERT INTO conversations (id, user_id) VALUES (%s, 'u')", (forest_uuid(conv),))
    conn.execute("SET session_replication_role = replica")  # insert children before parents
    for mid, conv, parent, role in BRANCH_ROWS:
        conn.execute(
            "INSERT INTO chat_messages (id, conversation_id, parent_id, role, content) VALUES (%s, %s, %s, %s, '')",
            (forest_uuid(mid), forest_uuid(conv), forest_uuid(parent) if parent else None, role),
        )
    conn.execute("SET session_replication_role = origin")


def assert_branching(src) -> None:
    """branch_kinds on the forest: one branch point of each kind, two alternatives each."""
    from opentier_explore import metrics

    out = metrics.branch_kinds(src)
    assert out.to_dict("index") == EXPECTED_KINDS
    assert list(out.dtypes) == ["int64", "int64"]


CASES = (Case("branching", branching_frames, insert_forest, assert_branching, ("branch_kinds",)),)
