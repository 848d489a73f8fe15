"""session_churn's aggregates computed inside PostgreSQL (conventions in churn.py); only aggregates come back."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import _source

_WK = "date_trunc('week', {} AT TIME ZONE 'UTC')"
_AS_OF = "CAST(:as_of AS timestamptz)"
#: every activity event of a known user, as (user_id text, created_at)
_EVENTS = {
    "sessions": "SELECT user_id::text AS user_id, created_at FROM sessions",
    "chat": (
        "SELECT c.user_id, m.created_at FROM chat_messages m JOIN conversations c ON c.id = m.conversation_id "
        "WHERE m.role = 'user' AND EXISTS (SELECT 1 FROM users x WHERE x.id::text = c.user_id)"
    ),
}
_ORPHANS = (
    "SELECT count(*) AS n, count(DISTINCT c.user_id) AS k FROM chat_messages m JOIN conversations c ON c.id = m.conversation_id "
    f"WHERE m.role = 'user' AND m.created_at <= {_AS_OF} AND NOT EXISTS (SELECT 1 FROM users x WHERE x.id::text = c.user_id)"
)


def _ctes(activity: str) -> str:
    return (
        f"WITH ev AS (SELECT * FROM ({_EVENTS[activity]}) e WHERE created_at <= {_AS_OF}), "
        f"s AS (SELECT id, user_id, role, created_at, expires_at FROM sessions WHERE created_at <= {_AS_OF}), "
        f"u AS (SELECT id, role, created_at FROM users WHERE created_at <= {_AS_OF}) "
    )


def _weeks(df: pd.DataFrame, col: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(df[col])).tz_localize("UTC") if len(df) else pd.DatetimeIndex([], tz="UTC")


def aggregates(engine, as_of, window: int, activity: str) -> tuple:
    """(as_of, observed_from, weekly, sizes, act, churned, rate, activity per user, sessions per user, stale, orphans)."""
    from .churn import as_of_from

    latest = _source.query(
        engine,
        f"SELECT greatest((SELECT max(created_at) FROM ({_EVENTS[activity]}) e), "
        "(SELECT max(created_at) FROM users)) AS t",
    )["t"].iloc[0]
    as_of = as_of_from(as_of, latest)
    p = {"as_of": None if pd.isna(as_of) else as_of.to_pydatetime(), "window": window}
    q = _ctes(activity)
    first = _source.query(engine, q + "SELECT min(created_at) AS t FROM ev", p)["t"].iloc[0]
    observed_from = _source.utc(first)
    w = _source.query(
        engine,
        q + f"SELECT {_WK.format('created_at')} AS w, count(DISTINCT user_id) AS n FROM ev GROUP BY 1 ORDER BY 1",
        p,
    )
    weekly = pd.Series(w["n"].to_numpy(np.int64), index=_weeks(w, "w"))
    z = _source.query(engine, q + f"SELECT {_WK.format('created_at')} AS c, count(*) AS n FROM u GROUP BY 1", p)
    sizes = pd.Series(z["n"].to_numpy(np.int64), index=_weeks(z, "c"))
    act = _source.query(
        engine,
        q + f", uc AS (SELECT id::text AS id, {_WK.format('created_at')} AS c FROM u) "
        f"SELECT uc.c, (({_WK.format('ev.created_at')})::date - uc.c::date) / 7 AS k, count(DISTINCT ev.user_id) AS n "
        "FROM ev JOIN uc ON uc.id = ev.user_id GROUP BY 1, 2",
        p,
    )
    if len(act):
        act["c"] = pd.to_datetime(act["c"]).dt.tz_localize("UTC")
        act["k"] = act["k"].astype(np.int64)
    churned = _source.query(
        engine,
        q + "SELECT user_id, max(created_at) AS last_active_at FROM ev GROUP BY user_id "
        f"HAVING max(created_at) < {_AS_OF} - make_interval(hours => 24 * :window)",
        p,
    )
    if churned.empty:
        churned = pd.DataFrame(
            {"user_id": pd.Series(dtype=object), "last_active_at": pd.Series(dtype="datetime64[ns, UTC]")}
        )
    ends = _source.week_ends(observed_from, as_of)
    rows = _source.query(
        engine,
        q + ", e AS (SELECT t FROM unnest(CAST(:ends AS timestamptz[])) AS t), "
        "f AS (SELECT min(created_at) AS f FROM ev GROUP BY user_id), "
        "seen AS (SELECT e.t, count(f.f) AS n FROM e LEFT JOIN f ON f.f < e.t GROUP BY e.t), "
        "a AS (SELECT DISTINCT ev.user_id, t FROM ev CROSS JOIN LATERAL generate_series("
        f"({_WK.format('ev.created_at')} + interval '7 days') AT TIME ZONE 'UTC', ev.created_at + make_interval(hours => 24 * :window), "
        "interval '168 hours') AS t), "
        "act AS (SELECT t, count(*) AS n FROM a GROUP BY t) "
        "SELECT e.t, seen.n AS users_seen, coalesce(act.n, 0) AS active FROM e JOIN seen USING (t) LEFT JOIN act USING (t) ORDER BY e.t",
        {**p, "ends": [t.to_pydatetime() for t in ends]},
    )
    rate = pd.DataFrame(
        {
            "users_seen": rows["users_seen"].to_numpy(np.int64) if len(rows) else [],
            "active": rows["active"].to_numpy(np.int64) if len(rows) else [],
        },
        index=ends,
    )
    apu = _per_user(
        engine,
        q + ", n AS (SELECT user_id, count(*) AS n FROM ev GROUP BY 1) "
        "SELECT u.id::text AS user_id, coalesce(n.n, 0) AS n FROM u LEFT JOIN n ON n.user_id = u.id::text",
        p,
    )
    spu = _per_user(
        engine,
        q + "SELECT u.id::text AS user_id, count(s.id) AS n FROM u LEFT JOIN s ON s.user_id = u.id GROUP BY u.id",
        p,
    )
    stale = _source.query(
        engine,
        q + "SELECT s.id::text AS session_id, s.user_id::text AS user_id, s.role::text AS session_role, "
        "u.role::text AS user_role, s.created_at, s.expires_at FROM s JOIN u ON u.id = s.user_id "
        f"WHERE s.expires_at > {_AS_OF} AND s.role::text <> u.role::text",
        p,
    )
    if stale.empty:
        stale = pd.DataFrame(columns=["session_id", "user_id", "session_role", "user_role", "created_at", "expires_at"])
    orphan = (0, 0)
    if activity == "chat":
        o = _source.query(engine, _ORPHANS, p)
        orphan = (int(o["n"].iloc[0]), int(o["k"].iloc[0]))
    return as_of, observed_from, weekly, sizes, act, churned, rate, apu, spu, stale, orphan


def _per_user(engine, sql: str, p: dict) -> pd.Series:
    df = _source.query(engine, sql, p)
    return pd.Series(
        df["n"].to_numpy(np.int64) if len(df) else [],
        index=df["user_id"].to_numpy(object) if len(df) else [],
        dtype=np.int64,
    )
