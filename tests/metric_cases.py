"""Hand-built data for the metric tests, with answers worked out by hand; usable as frames or inserted into a database.

The same rows feed the pandas path (`*_frames()`) and the Engine path (`insert_*()` into a migrated
database), so both paths are held to the same hand-computed answers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

T0 = pd.Timestamp("2025-03-03 00:00", tz="UTC")  # a Monday
H = pd.Timedelta(hours=1)
D = pd.Timedelta(days=1)


def uid(n: int) -> str:
    """A readable, sortable UUID: uid(7) == '00000000-0000-4000-8000-000000000007'."""
    return f"00000000-0000-4000-8000-{n:012d}"


def conv(n: int) -> str:
    """Conversation n's UUID."""
    return f"c0000000-0000-4000-8000-{n:012d}"


# --- conversation trees ----------------------------------------------------------------------
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
    ids, convs, parents = zip(*TREE_ROWS)
    df = pd.DataFrame({"id": list(ids), "conversation_id": list(convs), "parent_id": list(parents)}, dtype=object)
    df["created_at"] = pd.Series([T0 + i * H for i in range(len(df))], dtype="datetime64[ns, UTC]")
    return {"chat_messages": df}


def insert_trees(conn) -> None:
    """Insert the tree rows parent-first, then create the cycles by UPDATE and the missing parent without FK checks."""
    for k in range(1, 9):
        conn.execute("INSERT INTO conversations (id, user_id) VALUES (%s, %s)", (conv(k), f"user-{k}"))
    pending = list(TREE_ROWS)
    done: set[str] = set()
    while pending:
        rest = []
        for mid, cid, parent in pending:
            parent = TREE_INITIAL_PARENT.get(mid, parent)
            if mid in MISSING_PARENT:
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
    final = {mid: parent for mid, _, parent in TREE_ROWS}
    for mid in TREE_INITIAL_PARENT:
        conn.execute("UPDATE chat_messages SET parent_id = %s WHERE id = %s", (final[mid], mid))


# --- moderation latency ----------------------------------------------------------------------
A1, A2, K1 = uid(1), uid(2), uid(3)  # two admins and a contributor who (wrongly) reviewed once
MOD_USERS = [(A1, "admin"), (A2, "admin"), (K1, "contributor")]
# (id, created_at, status, reviewed_at, reviewed_by)
SUBMISSIONS = [
    (uid(11), T0 + 0 * H, "approved", T0 + 2 * H, A1),  # 2 h
    (uid(12), T0 + 1 * H, "rejected", T0 + 5 * H, A1),  # 4 h
    (uid(13), T0 + 2 * H, "approved", T0 + 26 * H, A2),  # 24 h
    (uid(14), T0 + 3 * H, "approved", T0 + 11 * H, A2),  # 8 h
    (uid(15), T0 + 1 * D, "pending", None, None),  # waits 9 d at as_of
    (uid(16), T0 + 2 * D, "approved", None, A1),  # reviewed without reviewed_at
    (uid(17), T0 + 3 * D, "rejected", T0 + 2 * D, A1),  # reviewed before created
    (uid(18), T0 + 4 * D, "approved", T0 + 4 * D + 16 * H, K1),  # 16 h, reviewer not an admin
    (uid(19), T0 + 8 * D, "pending", None, None),  # waits 2 d
    (uid(20), T0 + 9 * D, "approved", T0 + 10 * D, None),  # 24 h, no reviewer; the latest timestamp
    (uid(21), T0 + 9 * D + 12 * H, "pending", None, None),  # waits 12 h
]
MOD_AS_OF = T0 + 10 * D


def moderation_frames() -> dict[str, pd.DataFrame]:
    """knowledge_submissions and users as load() returns them."""
    ids, created, status, reviewed, by = zip(*SUBMISSIONS)
    ks = pd.DataFrame(
        {"id": list(ids), "contributor_id": K1, "status": list(status), "reviewed_by": list(by)}, dtype=object
    )
    ks["created_at"] = pd.Series(list(created), dtype="datetime64[ns, UTC]")
    ks["reviewed_at"] = pd.Series([pd.NaT if r is None else r for r in reviewed], dtype="datetime64[ns, UTC]")
    users = pd.DataFrame({"id": [u for u, _ in MOD_USERS]}, dtype=object)
    users["role"] = pd.Categorical([r for _, r in MOD_USERS], categories=["user", "contributor", "admin"])
    users["created_at"] = pd.Series([T0 - 30 * D] * len(MOD_USERS), dtype="datetime64[ns, UTC]")
    return {"knowledge_submissions": ks, "users": users}


def insert_moderation(conn) -> None:
    """Insert the moderation users and submissions."""
    for user, role in MOD_USERS:
        conn.execute(
            "INSERT INTO users (id, email, role, created_at) VALUES (%s, %s, %s, %s)",
            (user, f"{user}@example.org", role, (T0 - 30 * D).to_pydatetime()),
        )
    for sid, created, status, reviewed, by in SUBMISSIONS:
        conn.execute(
            "INSERT INTO knowledge_submissions (id, contributor_id, title, content, status, reviewed_at, reviewed_by, created_at) "
            "VALUES (%s, %s, 't', 'c', %s, %s, %s, %s)",
            (sid, K1, status, None if reviewed is None else reviewed.to_pydatetime(), by, created.to_pydatetime()),
        )


# --- session churn ---------------------------------------------------------------------------
U1, U2, U3, U4, U5 = (uid(n) for n in range(31, 36))
# (user, created_at, current role)
CHURN_USERS = [
    (U1, T0, "user"),
    (U2, T0 + 2 * D, "contributor"),  # promoted after signup
    (U3, T0 + 7 * D + 1 * H, "user"),
    (U4, T0 + 9 * D, "admin"),  # never logs in
    (U5, T0 + 14 * D, "user"),  # demoted after an admin session
]
# (session, user, created_at, role snapshot); every session expires 7 days after it starts
SESSIONS = [
    (uid(41), U1, T0 + 1 * H, "user"),
    (uid(42), U1, T0 + 8 * D, "user"),
    (uid(43), U1, T0 + 15 * D, "user"),
    (uid(44), U2, T0 + 2 * D, "user"),
    (uid(45), U2, T0 + 30 * D, "contributor"),
    (uid(46), U3, T0 + 7 * D + 2 * H, "user"),
    (uid(47), U5, T0 + 36 * D + 12 * H, "admin"),  # the latest timestamp: as_of
    (uid(48), U2, T0 + 33 * D, "user"),
]
CHURN_AS_OF = T0 + 36 * D + 12 * H
_WIN_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
#: (ip_address, user_agent) per session: OAuth sign-ins store neither; the others the proxy's address and the browser
SESSION_CLIENTS = {
    uid(41): (None, None),
    uid(42): ("172.18.0.4", _WIN_CHROME),
    uid(43): (None, None),
    uid(44): ("172.18.0.4", "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"),
    uid(45): ("172.18.0.4", _IPHONE),
    uid(46): (None, None),
    uid(47): ("10.1.2.3", "curl/8.7.1"),
    uid(48): ("172.18.0.4", _WIN_CHROME),
}


GHOST = "9f000000-0000-4000-8000-000000000099"  # a conversations.user_id that matches no user
# (conversation, owner as text); then (message, conversation, role, created_at): questions are the chat activity
CHURN_CONVERSATIONS = [(conv(11), U1), (conv(12), U2), (conv(13), U3), (conv(14), GHOST), (conv(15), U5)]
CHAT = [
    (uid(61), conv(11), "user", T0 + 2 * H),
    (uid(62), conv(11), "assistant", T0 + 2 * H + 9 * pd.Timedelta(seconds=1)),
    (uid(63), conv(11), "user", T0 + 9 * D),
    (uid(64), conv(11), "user", T0 + 16 * D),
    (uid(65), conv(12), "user", T0 + 3 * D),
    (uid(66), conv(12), "user", T0 + 24 * D),
    (uid(67), conv(13), "user", T0 + 7 * D + 3 * H),
    (uid(68), conv(14), "user", T0 + 5 * D),  # orphans: counted, left out
    (uid(69), conv(14), "user", T0 + 20 * D),
    (uid(70), conv(15), "user", T0 + 36 * D),  # the latest question: chat's as_of
    (uid(71), conv(15), "assistant", T0 + 36 * D + 1 * H),  # answers are not activity (nor as_of)
]
CHAT_AS_OF = T0 + 36 * D
#: what the API leaves of SESSIONS at CHURN_AS_OF: rows created in the last 7 days (the older ones expired and were deleted)
PURGED = [row for row in SESSIONS if row[2] >= CHURN_AS_OF - 7 * D]


def churn_frames(sessions=SESSIONS) -> dict[str, pd.DataFrame]:
    """sessions, users, conversations and chat_messages as load() returns them."""
    roles = ["user", "contributor", "admin"]
    sid, user, created, role = zip(*sessions)
    ses = pd.DataFrame({"id": list(sid), "user_id": list(user)}, dtype=object)
    ses["role"] = pd.Categorical(list(role), categories=roles)
    ses["created_at"] = pd.Series(list(created), dtype="datetime64[ns, UTC]")
    ses["expires_at"] = ses["created_at"] + 7 * D
    ses["ip_address"] = pd.Series([SESSION_CLIENTS[i][0] for i in sid], dtype=object)
    ses["user_agent"] = pd.Series([SESSION_CLIENTS[i][1] for i in sid], dtype=object)
    uids, ucreated, urole = zip(*CHURN_USERS)
    users = pd.DataFrame({"id": list(uids)}, dtype=object)
    users["role"] = pd.Categorical(list(urole), categories=roles)
    users["created_at"] = pd.Series(list(ucreated), dtype="datetime64[ns, UTC]")
    convs = pd.DataFrame(
        {"id": [c for c, _ in CHURN_CONVERSATIONS], "user_id": [u for _, u in CHURN_CONVERSATIONS]}, dtype=object
    )
    mid, cid, mrole, mcreated = zip(*CHAT)
    chat = pd.DataFrame({"id": list(mid), "conversation_id": list(cid), "role": list(mrole)}, dtype=object)
    chat["created_at"] = pd.Series(list(mcreated), dtype="datetime64[ns, UTC]")
    return {"sessions": ses, "users": users, "conversations": convs, "chat_messages": chat}


def purged_frames() -> dict[str, pd.DataFrame]:
    """churn_frames with the sessions table as the API's hourly clean-up leaves it."""
    return churn_frames(PURGED)


def insert_churn(conn, sessions=SESSIONS) -> None:
    """Insert the churn users, sessions, conversations and chat messages."""
    for user, created, role in CHURN_USERS:
        conn.execute(
            "INSERT INTO users (id, email, role, created_at) VALUES (%s, %s, %s, %s)",
            (user, f"{user}@example.org", role, created.to_pydatetime()),
        )
    for sid, user, created, role in sessions:
        conn.execute(
            "INSERT INTO sessions (id, user_id, session_token, expires_at, role, created_at, ip_address, user_agent) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (
                sid,
                user,
                f"token-{sid}",
                (created + 7 * D).to_pydatetime(),
                role,
                created.to_pydatetime(),
                *SESSION_CLIENTS[sid],
            ),
        )
    for cid, owner in CHURN_CONVERSATIONS:
        conn.execute(
            "INSERT INTO conversations (id, user_id, created_at) VALUES (%s, %s, %s)", (cid, owner, T0.to_pydatetime())
        )
    for mid, cid, role, created in CHAT:
        conn.execute(
            "INSERT INTO chat_messages (id, conversation_id, role, content, created_at) VALUES (%s, %s, %s, 'x', %s)",
            (mid, cid, role, created.to_pydatetime()),
        )


def insert_churn_purged(conn) -> None:
    """Insert the churn rows with the purged sessions table."""
    insert_churn(conn, PURGED)


def week(k: int) -> pd.Timestamp:
    """Monday 00:00 UTC of the k-th week after T0's."""
    return T0 + pd.Timedelta(days=7 * k)


NAN = np.nan


# --- the hand-computed answers, asserted the same way for both paths ---------------------------
def assert_trees(src) -> None:
    """conversation_trees and tree_faults on the tree rows equal the hand-computed tables."""
    from opentier_explore import metrics

    pd.testing.assert_frame_equal(metrics.conversation_trees(src), EXPECTED_TREES)
    pd.testing.assert_frame_equal(metrics.tree_faults(src), EXPECTED_FAULTS)


def assert_moderation(src) -> None:
    """moderation_latency at the default as_of and at an early one equals the hand-computed figures."""
    from opentier_explore import metrics

    m = metrics.moderation_latency(src)
    assert m.as_of == MOD_AS_OF
    pd.testing.assert_series_equal(
        m.by_status,
        pd.Series([3, 6, 2], index=pd.Index(["pending", "approved", "rejected"], name="status"), name="count"),
    )
    pd.testing.assert_series_equal(
        m.percentiles,
        pd.Series([12 * H, 24 * H, 24 * H], index=["p50", "p90", "p99"], name="latency", dtype="timedelta64[ns]"),
    )
    assert m.km_median == 24 * H  # S: 2h 8/9, 4h 7/9, 8h 2/3, (12h censored), 16h 8/15, 24h 4/15
    pd.testing.assert_series_equal(
        m.backlog, pd.Series([1], index=pd.DatetimeIndex([week(1)], name="week_end").as_unit("ns"), name="pending")
    )
    expected_rev = pd.DataFrame(
        {
            "n_reviewed": [2, 2, 1],
            "n_approved": [1, 2, 1],
            "n_rejected": [1, 0, 0],
            "median_latency": pd.to_timedelta(["3h", "16h", "16h"]).as_unit("ns"),
            "p90_latency": pd.to_timedelta(["3h48min", "22h24min", "16h"]).as_unit("ns"),
            "is_admin": [True, True, False],
        },
        index=pd.Index([A1, A2, K1], dtype="str", name="reviewed_by"),
    )
    pd.testing.assert_frame_equal(m.by_reviewer, expected_rev)
    assert list(m.inconsistent["id"]) == [uid(16), uid(17), uid(20), uid(18)]
    assert list(m.inconsistent["problem"]) == [
        "reviewed_without_reviewed_at",
        "reviewed_before_created",
        "missing_reviewer",
        "reviewer_not_admin",
    ]
    rows = {r[0]: r for r in SUBMISSIONS}
    order = [uid(16), uid(17), uid(20), uid(18)]
    pd.testing.assert_frame_equal(
        m.inconsistent,
        pd.DataFrame(
            {
                "id": pd.Series(order, dtype="str"),
                "status": pd.Series([rows[i][2] for i in order], dtype="str"),
                "created_at": pd.Series([rows[i][1] for i in order], dtype="datetime64[ns, UTC]"),
                "reviewed_at": pd.Series(
                    [rows[i][3] if rows[i][3] is not None else pd.NaT for i in order], dtype="datetime64[ns, UTC]"
                ),
                "reviewed_by": pd.Series([rows[i][4] for i in order], dtype="str"),
                "problem": pd.Categorical(
                    [
                        "reviewed_without_reviewed_at",
                        "reviewed_before_created",
                        "missing_reviewer",
                        "reviewer_not_admin",
                    ],
                    categories=[
                        "reviewed_without_reviewed_at",
                        "reviewed_before_created",
                        "missing_reviewer",
                        "reviewer_not_admin",
                    ],
                ),
            }
        ),
    )
    pd.testing.assert_frame_equal(
        m.life_table,
        pd.DataFrame(
            {"observed": [1, 1, 1, 0, 1, 2, 0, 0], "censored": [0, 0, 0, 1, 0, 0, 1, 1]},
            index=pd.TimedeltaIndex([h * H for h in (2, 4, 8, 12, 16, 24, 48, 216)], name="duration").as_unit("ns"),
        ),
    )
    early = metrics.moderation_latency(src, as_of=T0 + 3.5 * H)
    assert early.as_of == T0 + 3.5 * H
    assert early.by_status.tolist() == [3, 1, 0]  # 12, 13, 14 are still pending at 03:30
    assert early.percentiles.tolist() == [2 * H, 2 * H, 2 * H]
    assert early.km_median == 2 * H  # at 2h: 2 at risk (11 and 12), one event: S = 1/2
    assert early.backlog.empty
    assert early.by_reviewer.index.tolist() == [A1] and early.by_reviewer["n_reviewed"].tolist() == [1]
    assert early.inconsistent.empty


def _weekly(values) -> pd.Series:
    return pd.Series(
        values,
        index=pd.DatetimeIndex([week(k) for k in range(len(values))], name="week_start").as_unit("ns"),
        name="active_users",
        dtype="Int64",
    )


def _rate(seen, churned, rate) -> pd.DataFrame:
    return pd.DataFrame(
        {"users_seen": seen, "churned": pd.array(churned, dtype="Int64"), "churn_rate": rate},
        index=pd.DatetimeIndex([week(k) for k in range(1, 1 + len(seen))], name="week_end").as_unit("ns"),
    )


def _churned(users, times) -> pd.DataFrame:
    return pd.DataFrame(
        {"user_id": pd.Series(users, dtype="str"), "last_active_at": pd.Series(times, dtype="datetime64[ns, UTC]")}
    )


def _cohorts(rows) -> pd.DataFrame:
    return pd.DataFrame(
        rows,
        index=pd.DatetimeIndex([week(0), week(1), week(2)], name="cohort").as_unit("ns"),
        columns=pd.RangeIndex(5, name="week"),
    )


def assert_churn(src) -> None:
    """session_churn from logins (full history) and from chat, with window 28 and 7, equals the hand-computed figures."""
    from opentier_explore import metrics

    c = metrics.session_churn(src, activity="sessions")
    assert c.as_of == CHURN_AS_OF and c.window == 28 and c.activity == "sessions"
    assert c.observed_from == T0 + 1 * H  # the first login; week 0 began before it: not observed
    pd.testing.assert_series_equal(c.weekly_active, _weekly([pd.NA, 2, 1, 0, 1, 1]))
    pd.testing.assert_frame_equal(
        c.cohort_retention, _cohorts([[NAN, 0.5, 0.5, 0.0, 0.5], [0.5, 0.0, 0.0, 0.0, NAN], [0.0, 0.0, 0.0, NAN, NAN]])
    )
    assert c.cohort_sizes.tolist() == [2, 2, 1]
    pd.testing.assert_frame_equal(c.churned, _churned([U3], [T0 + 7 * D + 2 * H]))
    pd.testing.assert_frame_equal(c.churn_rate, _rate([2, 3, 3, 3, 3], [pd.NA] * 4 + [0], [NAN] * 4 + [0.0]))
    per_user = pd.Index([U1, U2, U3, U4, U5], dtype="str", name="user_id")
    pd.testing.assert_series_equal(c.sessions_per_user, pd.Series([3, 3, 1, 0, 1], index=per_user, name="n_sessions"))
    pd.testing.assert_series_equal(c.activity_per_user, pd.Series([3, 3, 1, 0, 1], index=per_user, name="n_events"))
    assert (c.orphan_events, c.orphan_user_ids) == (0, 0)
    pd.testing.assert_frame_equal(
        c.stale_roles,
        pd.DataFrame(
            {
                "session_id": pd.Series([uid(48), uid(47)], dtype="str"),
                "user_id": pd.Series([U2, U5], dtype="str"),
                "session_role": pd.Series(["user", "admin"], dtype="str"),
                "user_role": pd.Series(["contributor", "user"], dtype="str"),
                "created_at": pd.Series([T0 + 33 * D, CHURN_AS_OF], dtype="datetime64[ns, UTC]"),
                "expires_at": pd.Series([T0 + 40 * D, CHURN_AS_OF + 7 * D], dtype="datetime64[ns, UTC]"),
            }
        ),
    )
    w7 = metrics.session_churn(src, window=7, activity="sessions")
    assert w7.churned["user_id"].tolist() == [U3, U1]
    pd.testing.assert_frame_equal(
        w7.churn_rate, _rate([2, 3, 3, 3, 3], [pd.NA, 1, 2, 3, 2], [NAN, 1 / 3, 2 / 3, 1.0, 2 / 3])
    )
    assert_chat_churn(src)


def assert_chat_churn(src) -> None:
    """session_churn from chat questions (the default activity) equals the hand-computed figures; sessions do not matter."""
    from opentier_explore import metrics

    c = metrics.session_churn(src)
    assert c.activity == "chat" and c.as_of == CHAT_AS_OF and c.observed_from == T0 + 2 * H
    pd.testing.assert_series_equal(c.weekly_active, _weekly([pd.NA, 2, 1, 1, 0, 1]))
    pd.testing.assert_frame_equal(
        c.cohort_retention, _cohorts([[NAN, 0.5, 0.5, 0.5, 0.0], [0.5, 0.0, 0.0, 0.0, NAN], [0.0, 0.0, 0.0, NAN, NAN]])
    )
    assert c.cohort_sizes.tolist() == [2, 2, 1]
    pd.testing.assert_frame_equal(c.churned, _churned([U3], [T0 + 7 * D + 3 * H]))
    pd.testing.assert_frame_equal(c.churn_rate, _rate([2, 3, 3, 3, 3], [pd.NA] * 4 + [0], [NAN] * 4 + [0.0]))
    per_user = pd.Index([U1, U2, U3, U4, U5], dtype="str", name="user_id")
    pd.testing.assert_series_equal(c.activity_per_user, pd.Series([3, 2, 1, 0, 1], index=per_user, name="n_events"))
    assert (c.orphan_events, c.orphan_user_ids) == (2, 1)
    w7 = metrics.session_churn(src, window=7)
    pd.testing.assert_frame_equal(w7.churned, _churned([U3, U1, U2], [T0 + 7 * D + 3 * H, T0 + 16 * D, T0 + 24 * D]))
    pd.testing.assert_frame_equal(
        w7.churn_rate, _rate([2, 3, 3, 3, 3], [pd.NA, 1, 2, 2, 3], [NAN, 1 / 3, 2 / 3, 2 / 3, 1.0])
    )


def assert_purged_churn(src) -> None:
    """On a sessions table holding only the last 7 days, login churn is missing where it cannot be seen; chat churn is whole."""
    from opentier_explore import metrics

    c = metrics.session_churn(src, activity="sessions")
    assert c.as_of == CHURN_AS_OF and c.observed_from == T0 + 30 * D
    pd.testing.assert_series_equal(c.weekly_active, _weekly([pd.NA] * 5 + [1]))  # week 4 began before the oldest row
    assert (
        c.cohort_retention.shape == (3, 5) and c.cohort_retention.isna().all().all()
    )  # no cell, not a column of zeros
    assert c.churned is None  # 28 days back is before the oldest row: nobody can be called churned
    pd.testing.assert_frame_equal(
        c.churn_rate,
        pd.DataFrame(
            {"users_seen": [1], "churned": pd.array([pd.NA], dtype="Int64"), "churn_rate": [NAN]},
            index=pd.DatetimeIndex([week(5)], name="week_end").as_unit("ns"),
        ),
    )
    assert c.stale_roles["session_id"].tolist() == [uid(48), uid(47)]  # what sessions can still show
    assert c.sessions_per_user.tolist() == [0, 2, 0, 0, 1]
    assert_chat_churn(src)  # the questions are all still there


def assert_signed_in(src, purged: bool = False) -> None:
    """signed_in at the default as_of and at an early one equals the hand-computed figures."""
    from opentier_explore import metrics

    s = metrics.signed_in(src)
    assert s.as_of == CHURN_AS_OF and s.kept_from == (T0 + 30 * D if purged else T0 + 1 * H)
    assert (s.live_sessions, s.users) == (3, 2)  # 45 and 48 (U2), 47 (U5)
    assert s.by_sign_in.tolist() == [0, 3]
    pd.testing.assert_frame_equal(
        s.devices,
        pd.DataFrame(
            {"client": ["Chrome", "Safari", "curl"], "system": ["Windows", "iOS", "other"], "sessions": [1, 1, 1]}
        ),
    )
    pd.testing.assert_series_equal(
        s.addresses,
        pd.Series(
            [2, 1], index=pd.Index(["172.18.0.4", "10.1.2.3"], dtype="str", name="ip_address"), name="live_sessions"
        ),
    )
    if purged:
        return
    early = metrics.signed_in(src, as_of=T0 + 16 * D)  # only 43 is live: an OAuth sign-in
    assert (early.live_sessions, early.users) == (1, 1) and early.by_sign_in.tolist() == [1, 0]
    assert early.devices.values.tolist() == [[metrics.NO_AGENT, metrics.NO_AGENT, 1]]
    assert early.addresses.to_dict() == {"none stored": 1}
