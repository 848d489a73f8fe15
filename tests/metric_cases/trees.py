"""Hand-built conversation trees: every shape and fault, with depths, trees, faults and summary worked out by hand."""

from __future__ import annotations

import pandas as pd

from ._common import NAN, T0, Case, D, H, conv, uid, week  # noqa: F401

# (message, conversation, parent) in their final state; messages numbered 100*conversation + k.
M = uid
TREE_ROWS = [
    # C1: branch at the root, then linear chains: 101 → {102 → 104 → 105, 103 → 106}
    (M(101), conv(1), None),
    (M(102), conv(1), M(101)),
    (M(103), conv(1), M(101)),
    (M(104), conv(1), M(102)),
    (M(105), conv(1), M(104)),
    (M(106), conv(1), M(103)),
    # C2: deep branches: 201→202→203→204; 204 → {205, 206, 207}; 206→208→209; 205 → {210, 211}
    (M(201), conv(2), None),
    (M(202), conv(2), M(201)),
    (M(203), conv(2), M(202)),
    (M(204), conv(2), M(203)),
    (M(205), conv(2), M(204)),
    (M(206), conv(2), M(204)),
    (M(207), conv(2), M(204)),
    (M(208), conv(2), M(206)),
    (M(209), conv(2), M(208)),
    (M(210), conv(2), M(205)),
    (M(211), conv(2), M(205)),
    # C3: two roots: 301 → 302; 303 → 304 → 305
    (M(301), conv(3), None),
    (M(302), conv(3), M(301)),
    (M(303), conv(3), None),
    (M(304), conv(3), M(303)),
    (M(305), conv(3), M(304)),
    # C4: a single message
    (M(401), conv(4), None),
    # C5: 501 → 502; 503's parent is 106 in C1 (cross-conversation); 503 → 504
    (M(501), conv(5), None),
    (M(502), conv(5), M(501)),
    (M(503), conv(5), M(106)),
    (M(504), conv(5), M(503)),
    # C6: 601 → 602; 603's parent does not exist; 603 → 604
    (M(601), conv(6), None),
    (M(602), conv(6), M(601)),
    (M(603), conv(6), M(999)),
    (M(604), conv(6), M(603)),
    # C7: 701 → 702 → 703 → 704 → 705, then UPDATE 702.parent = 704: cycle 702 → 703 → 704 → 702, 705 hangs below it
    (M(701), conv(7), None),
    (M(702), conv(7), M(704)),
    (M(703), conv(7), M(702)),
    (M(704), conv(7), M(703)),
    (M(705), conv(7), M(704)),
    # C8: no root at all: 801 ⇄ 802 (by UPDATE), and 803 its own parent (by UPDATE)
    (M(801), conv(8), M(802)),
    (M(802), conv(8), M(801)),
    (M(803), conv(8), M(803)),
]
#: the UPDATEs that create the cycles (message, new parent); before them these messages had the parent shown here
TREE_INITIAL_PARENT = {M(702): M(701), M(801): None, M(803): None}
MISSING_PARENT = {M(603)}

_NA = pd.NA
EXPECTED_TREES = pd.DataFrame(
    {
        # conv:            1   2   3   4   5   6   7   8
        "n_messages": [6, 11, 5, 1, 4, 4, 5, 3],
        "n_roots": [1, 1, 2, 1, 1, 1, 1, 0],
        "max_depth": [4, 7, 3, 1, 2, 2, 1, _NA],
        "n_leaves": [2, 4, 2, 1, 2, 2, 2, 0],
        "n_branch_points": [1, 2, 0, 0, 0, 0, 1, 0],
        "max_children": [2, 3, 1, 0, 1, 1, 2, 1],
    },
    index=pd.Index([conv(k) for k in range(1, 9)], dtype="str", name="conversation_id"),
).astype(
    {
        "n_messages": "int64",
        "n_roots": "int64",
        "max_depth": "Int64",
        "n_leaves": "int64",
        "n_branch_points": "int64",
        "max_children": "int64",
    }
)

EXPECTED_FAULTS = pd.DataFrame(
    {
        "message_id": [M(503), M(603), M(702), M(703), M(704), M(801), M(802), M(803)],
        "conversation_id": [conv(5), conv(6), conv(7), conv(7), conv(7), conv(8), conv(8), conv(8)],
        "fault": pd.Categorical(
            ["cross_conversation_parent", "missing_parent", "cycle", "cycle", "cycle", "cycle", "cycle", "cycle"],
            categories=["cross_conversation_parent", "missing_parent", "cycle"],
        ),
    }
).astype({"message_id": "str", "conversation_id": "str"})

#: depth of each message that reaches a root
EXPECTED_DEPTHS = {
    M(101): 1,
    M(102): 2,
    M(103): 2,
    M(104): 3,
    M(105): 4,
    M(106): 3,
    M(201): 1,
    M(202): 2,
    M(203): 3,
    M(204): 4,
    M(205): 5,
    M(206): 5,
    M(207): 5,
    M(208): 6,
    M(209): 7,
    M(210): 6,
    M(211): 6,
    M(301): 1,
    M(302): 2,
    M(303): 1,
    M(304): 2,
    M(305): 3,
    M(401): 1,
    M(501): 1,
    M(502): 2,
    M(601): 1,
    M(602): 2,
    M(701): 1,
}


def tree_frames() -> dict[str, pd.DataFrame]:
    """chat_messages as load() returns it (only the columns the metrics read, plus created_at)."""
    return _frames(TREE_ROWS)


def _frames(rows: list[tuple]) -> dict[str, pd.DataFrame]:
    """`rows` (message, conversation, parent) as load() returns chat_messages, one hour apart from T0."""
    ids, convs, parents = zip(*rows)
    df = pd.DataFrame({"id": list(ids), "conversation_id": list(convs), "parent_id": list(parents)}, dtype=object)
    df["created_at"] = pd.Series([T0 + i * H for i in range(len(df))], dtype="datetime64[ns, UTC]")
    return {"chat_messages": df}


def insert_trees(conn) -> None:
    """Insert the tree rows parent-first, then create the cycles by UPDATE and the missing parent without FK checks."""
    _insert(conn, TREE_ROWS, TREE_INITIAL_PARENT, MISSING_PARENT)


def _insert(conn, rows: list[tuple], initial_parent: dict, missing: set) -> None:
    """Insert `rows` (message, conversation, parent) parent-first, with `initial_parent` until the closing UPDATEs."""
    for cid in sorted({c for _, c, _ in rows}):
        conn.execute("INSERT INTO conversations (id, user_id) VALUES (%s, %s)", (cid, f"user-{int(cid[-12:])}"))
    pending = list(rows)
    done: set[str] = set()
    while pending:
        rest = []
        for mid, cid, parent in pending:
            parent = initial_parent.get(mid, parent)
            if mid in missing:
                conn.execute("SET session_replication_role = replica")  # as a replica without the FK would hold it
                conn.execute(
                    "INSERT INTO chat_messages (id, conversation_id, parent_id, role, content) VALUES (%s, %s, %s, 'user', 'x')",
                    (mid, cid, parent),
                )
                conn.execute("SET session_replication_role = origin")
            elif parent is None or parent in done:
                conn.execute(
                    "INSERT INTO chat_messages (id, conversation_id, parent_id, role, content) VALUES (%s, %s, %s, 'user', 'x')",
                    (mid, cid, parent),
                )
            else:
                rest.append((mid, cid, parent))
                continue
            done.add(mid)
        pending = rest
    final = {mid: parent for mid, _, parent in rows}
    for mid in initial_parent:
        conn.execute("UPDATE chat_messages SET parent_id = %s WHERE id = %s", (final[mid], mid))


def assert_trees(src) -> None:
    """conversation_trees and tree_faults on the tree rows equal the hand-computed tables."""
    from opentier_explore import metrics

    pd.testing.assert_frame_equal(metrics.conversation_trees(src), EXPECTED_TREES)
    pd.testing.assert_frame_equal(metrics.tree_faults(src), EXPECTED_FAULTS)

    depths = metrics.message_depths(src)
    ids = src["chat_messages"]["id"] if isinstance(src, dict) else depths.index  # frames: rows; Engine: by id
    assert {i: int(d) for i, d in zip(ids, depths) if not pd.isna(d)} == EXPECTED_DEPTHS
    assert len(depths) == 39 and depths.isna().sum() == 39 - len(EXPECTED_DEPTHS)  # every unrooted message, as <NA>
    summary = metrics.tree_summary(src).to_dict()
    assert abs(summary.pop("p90_depth") - 5.2) < 1e-9  # position 5.4 of the depths → 4 + 0.4 × (7 − 4)
    assert summary == {
        "conversations": 8,
        "linear_share": 0.5,  # C4, C5, C6 and C8 (no root, no branch point)
        "median_depth": 2.0,  # depths 1, 1, 2, 2, 3, 4, 7 (C8 has none)
        "max_depth": 7,
        "median_messages": 4.5,  # 1, 3, 4, 4, 5, 5, 6, 11
        "messages": 39,
    }


# Rooted parents with children in another conversation: those are not their children (not tree edges).
# C9: 901 → {902, 903}, 902 → 904; C10: 1001's parent is 902, 1002's is 901 (both cross-conversation), 1001 → 1003.
CROSS_ROWS = [
    (M(901), conv(9), None),
    (M(902), conv(9), M(901)),
    (M(903), conv(9), M(901)),
    (M(904), conv(9), M(902)),
    (M(1001), conv(10), M(902)),
    (M(1002), conv(10), M(901)),
    (M(1003), conv(10), M(1001)),
]
EXPECTED_CROSS_TREES = pd.DataFrame(
    {
        # 901 has 2 children (not 3), 902 has 1 (not 2): one branch point, at most 2 children
        "n_messages": [4, 3],
        "n_roots": [1, 0],
        "max_depth": pd.array([3, _NA], dtype="Int64"),
        "n_leaves": [2, 2],  # 903, 904; 1002, 1003
        "n_branch_points": [1, 0],
        "max_children": [2, 1],  # 1001 → 1003, unrooted
    },
    index=pd.Index([conv(9), conv(10)], dtype="str", name="conversation_id"),
)


def cross_frames() -> dict[str, pd.DataFrame]:
    """CROSS_ROWS as load() returns chat_messages (the columns the tree metrics read, plus created_at)."""
    return _frames(CROSS_ROWS)


def insert_cross(conn) -> None:
    """Insert CROSS_ROWS parent-first."""
    _insert(conn, CROSS_ROWS, {}, set())


def assert_cross(src) -> None:
    """conversation_trees counts only children in the parent's conversation; tree_faults names both cross children."""
    from opentier_explore import metrics

    pd.testing.assert_frame_equal(metrics.conversation_trees(src), EXPECTED_CROSS_TREES)
    faults = metrics.tree_faults(src)
    assert faults["message_id"].tolist() == [M(1001), M(1002)]
    assert set(faults["fault"]) == {"cross_conversation_parent"}


CASES = (
    Case(
        "trees",
        tree_frames,
        insert_trees,
        assert_trees,
        ("conversation_trees", "tree_faults", "message_depths", "tree_summary"),
    ),
    Case("trees_cross", cross_frames, insert_cross, assert_cross, ("conversation_trees", "tree_faults")),
)
