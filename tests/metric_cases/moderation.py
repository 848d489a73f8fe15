"""Hand-built knowledge submissions and reviewers, with the moderation latency worked out by hand."""

from __future__ import annotations

import pandas as pd

from ._common import NAN, T0, Case, D, H, conv, uid, week  # noqa: F401

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
    _assert_inconsistent(m)
    _assert_life_table_and_early(src, m)


def _assert_inconsistent(m) -> None:
    """The four inconsistent rows, one per problem, with their columns as stored."""
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


def _assert_life_table_and_early(src, m) -> None:
    """The life table at the default as_of, and the figures at 03:30 on the first day."""
    from opentier_explore import metrics

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


CASES = (Case("moderation", moderation_frames, insert_moderation, assert_moderation, ("moderation_latency",)),)
