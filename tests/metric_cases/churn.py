"""Hand-built users, sessions and chat questions, with churn and signed-in sessions worked out by hand."""

from __future__ import annotations

import pandas as pd

from ._common import NAN, T0, Case, D, H, conv, uid, week  # noqa: F401

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


def check_churn(src) -> None:
    """The churn and signed-in answers on the full sessions table."""
    assert_churn(src)
    assert_signed_in(src)


def check_purged(src) -> None:
    """The churn and signed-in answers on the sessions table the API's clean-up leaves."""
    assert_purged_churn(src)
    assert_signed_in(src, purged=True)


CASES = (
    Case("churn", churn_frames, insert_churn, check_churn, ("session_churn", "signed_in")),
    Case("churn_purged", purged_frames, insert_churn_purged, check_purged, ("session_churn", "signed_in")),
)
