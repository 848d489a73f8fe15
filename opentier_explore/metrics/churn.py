"""Session churn: who keeps logging in (sessions.created_at), weekly cohorts, churn, stale role snapshots.

Conventions (both paths follow them exactly):
- Weeks are ISO weeks, Monday 00:00 UTC to the next Monday; a week is labelled by its Monday
  (`week_start`) or, for "at the week's end" figures, by the next Monday 00:00 UTC (`week_end`).
- `as_of` defaults to the latest `created_at` of sessions and users, truncated to the microsecond;
  sessions and users created after `as_of` are ignored.
- `weekly_active`: distinct users with ≥ 1 session per week, from the first session's week to the
  week holding `as_of` (the last week may be partial), 0 for empty weeks.
- `cohort_retention`: cohort = signup week (users.created_at); cell (cohort, k) = share of the cohort
  with ≥ 1 session in the k-th week after the signup week (k = 0 is the signup week). A cell is
  observable only when that week has ended by `as_of`; otherwise NaN. Cohorts with no observable
  cell are left out; cohort sizes (every user who signed up, with or without sessions) are in `cohort_sizes`.
- `churned`: users whose last session is more than `window` days before `as_of` (last < as_of − window).
- `churn_rate`: at each week end t (after the first session, up to `as_of`): `users_seen` (a session
  before t), `churned` (seen, but no session in [t − window, t)), `churn_rate` = churned / users_seen.
- `sessions_per_user`: sessions up to `as_of` of every user who signed up by then (0 included).
- `stale_roles`: sessions live at `as_of` (created_at <= as_of < expires_at) whose role snapshot differs
  from the user's current users.role.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import _source

_S = ("id", "user_id", "role", "created_at", "expires_at")
_U = ("id", "role", "created_at")
_NEEDS = {"sessions": _S, "users": _U}
_WEEK = pd.Timedelta(days=7)


@dataclass(frozen=True)
class SessionChurn:
    """The session-churn report; every attribute is a value, Series or DataFrame."""

    as_of: pd.Timestamp
    window: int
    weekly_active: pd.Series  # week_start → active_users
    cohort_retention: pd.DataFrame  # cohort week_start × week offset → share (NaN: not observable yet)
    cohort_sizes: pd.Series  # cohort week_start → users
    churned: pd.DataFrame  # user_id, last_session_at
    churn_rate: pd.DataFrame  # week_end → users_seen, churned, churn_rate
    sessions_per_user: pd.Series  # user_id → n_sessions
    stale_roles: pd.DataFrame  # session_id, user_id, session_role, user_role, created_at, expires_at


def session_churn(src: _source.Source, as_of: "pd.Timestamp | str | None" = None, window: int = 28) -> SessionChurn:
    """Weekly actives, cohort retention, churned users and churn rate, sessions per user, stale role snapshots."""
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        from ..errors import ConfigError

        raise ConfigError(f"`window` must be a positive whole number of days, not {window!r}.")
    window = int(window)
    if _source.is_engine(src):
        _source.check_sql(src, _NEEDS, "session_churn")
        return _from_sql(src, as_of, window)
    s = _source.frame(src, "sessions", _S, "session_churn")
    u = _source.frame(src, "users", _U, "session_churn")
    return _from_frames(s, u, as_of, window)


def _as_of(as_of, latest) -> pd.Timestamp:
    chosen = _source.utc(as_of) if as_of is not None else _source.utc(latest)
    return chosen.floor("us") if not pd.isna(chosen) else pd.NaT


def _from_frames(s: pd.DataFrame, u: pd.DataFrame, as_of, window: int) -> SessionChurn:
    s_created = _source.utc(s["created_at"]).reset_index(drop=True)
    u_created = _source.utc(u["created_at"]).reset_index(drop=True)
    as_of = _as_of(as_of, pd.concat([s_created, u_created]).max())
    ses = pd.DataFrame({"id": s["id"].astype(object).to_numpy(), "user_id": s["user_id"].astype(object).to_numpy(),
                        "role": s["role"].astype(object).to_numpy(), "created_at": s_created,
                        "expires_at": _source.utc(s["expires_at"]).reset_index(drop=True)})
    ses = ses[ses["created_at"] <= as_of]
    usr = pd.DataFrame({"id": u["id"].astype(object).to_numpy(), "role": u["role"].astype(object).to_numpy(), "created_at": u_created})
    usr = usr[usr["created_at"] <= as_of]
    ses_week = _source.week_start(ses["created_at"])

    wa = ses.assign(w=ses_week).groupby("w")["user_id"].nunique()
    weekly = pd.Series(wa.to_numpy(np.int64), index=pd.DatetimeIndex(wa.index))

    cohort = _source.week_start(usr["created_at"])
    sizes = cohort.value_counts()
    joined = ses.assign(w=ses_week).merge(pd.DataFrame({"user_id": usr["id"].to_numpy(), "c": cohort.array}), on="user_id")
    joined["k"] = ((joined["w"] - joined["c"]) // _WEEK).astype(np.int64)
    act = joined.groupby(["c", "k"])["user_id"].nunique().reset_index(name="n")

    last = ses.groupby("user_id")["created_at"].max()
    churned = pd.DataFrame({"user_id": last.index.to_numpy(object), "last_session_at": last.to_numpy()})
    churned = churned[churned["last_session_at"] < as_of - pd.Timedelta(days=window)]

    ends = _source.week_ends(ses["created_at"].min(), as_of)
    first = np.sort(ses.groupby("user_id")["created_at"].min().to_numpy(dtype="datetime64[ns]"))
    seen = np.searchsorted(first, ends.tz_convert(None).to_numpy(), side="left")
    # week ends t covered by a session at c: c < t <= c + window, i.e. Mondays after c's week start
    base = ses_week.to_numpy(dtype="datetime64[ns]")
    limit = (ses["created_at"] + pd.Timedelta(days=window)).to_numpy(dtype="datetime64[ns]")
    hits = []
    for j in range(1, window // 7 + 2):  # a handful of offsets, each vectorized over every session
        t = base + np.timedelta64(7 * j, "D")
        ok = t <= limit
        hits.append(pd.DataFrame({"user_id": ses["user_id"].to_numpy()[ok], "t": t[ok]}))
    active = pd.concat(hits).drop_duplicates().groupby("t").size() if hits else pd.Series(dtype=np.int64)
    active_at = active.reindex(ends.tz_convert(None).to_numpy(), fill_value=0).to_numpy(np.int64)
    rate = pd.DataFrame({"users_seen": seen.astype(np.int64), "active": active_at}, index=ends)

    per_user = ses.groupby("user_id").size()
    spu = pd.Series(per_user.reindex(usr["id"].to_numpy(), fill_value=0).to_numpy(np.int64), index=usr["id"].to_numpy(object))

    live = ses[(ses["expires_at"] > as_of)].merge(usr[["id", "role"]].rename(columns={"id": "user_id", "role": "user_role"}), on="user_id")
    stale = live[live["role"] != live["user_role"]]
    stale = pd.DataFrame({"session_id": stale["id"], "user_id": stale["user_id"], "session_role": stale["role"],
                          "user_role": stale["user_role"], "created_at": stale["created_at"], "expires_at": stale["expires_at"]})
    return _assemble(as_of, window, weekly, sizes, act, churned, rate, spu, stale)


def _assemble(as_of, window, weekly, sizes, act, churned, rate, spu, stale) -> SessionChurn:
    """The report from the path-independent aggregates, with the shared dtypes, orderings and NaN cells."""
    weekly.index = pd.DatetimeIndex(_source.utc(pd.Series(weekly.index)).to_numpy()).tz_localize(None).tz_localize("UTC") if len(weekly) else pd.DatetimeIndex([], tz="UTC")
    if len(weekly) and not pd.isna(as_of):
        full = pd.date_range(weekly.index.min(), _source.week_start(pd.Series([as_of])).iloc[0], freq="7D", tz="UTC")
        weekly = weekly.reindex(full, fill_value=0)
    idx = pd.DatetimeIndex(pd.DatetimeIndex(weekly.index, tz="UTC").tz_convert(None).to_numpy()).tz_localize("UTC")
    weekly = pd.Series(weekly.to_numpy(np.int64), index=idx.as_unit("ns"), name="active_users")
    weekly.index.name = "week_start"

    sizes.index = pd.DatetimeIndex(_source.utc(pd.Series(sizes.index)).to_numpy()).tz_localize(None).tz_localize("UTC") if len(sizes) else pd.DatetimeIndex([], tz="UTC")
    sizes = sizes.sort_index().astype(np.int64)
    if not pd.isna(as_of):
        sizes = sizes[sizes.index + _WEEK <= as_of]
    sizes = pd.Series(sizes.to_numpy(np.int64), index=pd.DatetimeIndex(sizes.index, tz="UTC").as_unit("ns"), name="users")
    sizes.index.name = "cohort"
    n_off = int((as_of - sizes.index.min()) // _WEEK) if len(sizes) else 0
    grid = np.full((len(sizes), n_off), np.nan)
    if len(act) and len(sizes):
        c = pd.DatetimeIndex(_source.utc(act["c"]).to_numpy()).tz_localize(None).tz_localize("UTC")
        row = sizes.index.get_indexer(c)
        k = act["k"].to_numpy(np.int64)
        ok = (row >= 0) & (k >= 0) & (k < n_off)
        grid[row[ok], k[ok]] = act["n"].to_numpy(float)[ok]
    starts = sizes.index.tz_convert(None).to_numpy()[:, None]
    observable = starts + (np.arange(n_off)[None, :] + 1) * _WEEK.to_timedelta64() <= as_of.tz_convert(None).to_datetime64()
    grid = np.where(observable, np.nan_to_num(grid, nan=0.0) / sizes.to_numpy(float)[:, None], np.nan)
    retention = pd.DataFrame(grid, index=sizes.index, columns=pd.RangeIndex(n_off, name="week"))

    churned = pd.DataFrame({"user_id": churned["user_id"].astype("str").to_numpy(),
                            "last_session_at": _source.utc(churned["last_session_at"]).to_numpy()})
    churned = churned.sort_values(["last_session_at", "user_id"], kind="stable").reset_index(drop=True)

    seen = rate["users_seen"].to_numpy(np.int64)
    lost = seen - rate["active"].to_numpy(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(seen > 0, lost / np.maximum(seen, 1), np.nan)
    churn_rate = pd.DataFrame({"users_seen": seen, "churned": lost.astype(np.int64), "churn_rate": share.astype(float)}, index=rate.index)
    churn_rate.index.name = "week_end"

    spu = pd.Series(spu.to_numpy(np.int64), index=pd.Index(spu.index.to_numpy(object), name="user_id"), name="n_sessions").sort_index()

    stale = pd.DataFrame({
        "session_id": stale["session_id"].astype("str").to_numpy(), "user_id": stale["user_id"].astype("str").to_numpy(),
        "session_role": stale["session_role"].astype("str").to_numpy(), "user_role": stale["user_role"].astype("str").to_numpy(),
        "created_at": _source.utc(stale["created_at"]).to_numpy(), "expires_at": _source.utc(stale["expires_at"]).to_numpy(),
    })
    stale = stale.sort_values(["created_at", "session_id"], kind="stable").reset_index(drop=True)
    return SessionChurn(as_of, window, weekly, retention, sizes, churned, churn_rate, spu, stale)


def _from_sql(engine, as_of, window: int) -> SessionChurn:
    latest = _source.query(engine, "SELECT greatest((SELECT max(created_at) FROM sessions), (SELECT max(created_at) FROM users)) AS t")["t"].iloc[0]
    as_of = _as_of(as_of, latest)
    p = {"as_of": None if pd.isna(as_of) else as_of.to_pydatetime(), "window": window}
    wk = "date_trunc('week', {} AT TIME ZONE 'UTC')"
    s_cte = ("WITH s AS (SELECT id, user_id, role, created_at, expires_at FROM sessions WHERE created_at <= CAST(:as_of AS timestamptz)), "
             "u AS (SELECT id, role, created_at FROM users WHERE created_at <= CAST(:as_of AS timestamptz)) ")
    w = _source.query(engine, s_cte + f"SELECT {wk.format('created_at')} AS w, count(DISTINCT user_id) AS n FROM s GROUP BY 1 ORDER BY 1", p)
    weekly = pd.Series(w["n"].to_numpy(np.int64), index=pd.DatetimeIndex(pd.to_datetime(w["w"])).tz_localize("UTC") if len(w) else pd.DatetimeIndex([], tz="UTC"))
    z = _source.query(engine, s_cte + f"SELECT {wk.format('created_at')} AS c, count(*) AS n FROM u GROUP BY 1", p)
    sizes = pd.Series(z["n"].to_numpy(np.int64), index=pd.DatetimeIndex(pd.to_datetime(z["c"])).tz_localize("UTC") if len(z) else pd.DatetimeIndex([], tz="UTC"))
    act = _source.query(
        engine,
        s_cte + f", uc AS (SELECT id, {wk.format('created_at')} AS c FROM u) "
        f"SELECT uc.c, (({wk.format('s.created_at')})::date - uc.c::date) / 7 AS k, count(DISTINCT s.user_id) AS n "
        "FROM s JOIN uc ON uc.id = s.user_id GROUP BY 1, 2",
        p,
    )
    if len(act):
        act["c"] = pd.to_datetime(act["c"]).dt.tz_localize("UTC")
        act["k"] = act["k"].astype(np.int64)
    churned = _source.query(
        engine,
        s_cte + "SELECT user_id::text AS user_id, max(created_at) AS last_session_at FROM s GROUP BY user_id "
        "HAVING max(created_at) < CAST(:as_of AS timestamptz) - make_interval(hours => 24 * :window)",
        p,
    )
    if churned.empty:
        churned = pd.DataFrame({"user_id": pd.Series(dtype="str"), "last_session_at": pd.Series(dtype="datetime64[ns, UTC]")})
    first = _source.query(engine, s_cte + "SELECT min(created_at) AS t FROM s", p)["t"].iloc[0]
    ends = _source.week_ends(_source.utc(first), as_of)
    ends_p = {**p, "ends": [t.to_pydatetime() for t in ends]}
    rows = _source.query(
        engine,
        s_cte + ", e AS (SELECT t FROM unnest(CAST(:ends AS timestamptz[])) AS t), "
        "f AS (SELECT min(created_at) AS f FROM s GROUP BY user_id), "
        "seen AS (SELECT e.t, count(f.f) AS n FROM e LEFT JOIN f ON f.f < e.t GROUP BY e.t), "
        "a AS (SELECT DISTINCT s.user_id, t FROM s CROSS JOIN LATERAL generate_series("
        f"({wk.format('s.created_at')} + interval '7 days') AT TIME ZONE 'UTC', s.created_at + make_interval(hours => 24 * :window), "
        "interval '168 hours') AS t), "
        "act AS (SELECT t, count(*) AS n FROM a GROUP BY t) "
        "SELECT e.t, seen.n AS users_seen, coalesce(act.n, 0) AS active FROM e JOIN seen USING (t) LEFT JOIN act USING (t) ORDER BY e.t",
        ends_p,
    )
    rate = pd.DataFrame({"users_seen": rows["users_seen"].to_numpy(np.int64) if len(rows) else [],
                         "active": rows["active"].to_numpy(np.int64) if len(rows) else []}, index=ends)
    spu = _source.query(
        engine,
        s_cte + "SELECT u.id::text AS user_id, count(s.id) AS n FROM u LEFT JOIN s ON s.user_id = u.id GROUP BY u.id",
        p,
    )
    spu = pd.Series(spu["n"].to_numpy(np.int64) if len(spu) else [], index=spu["user_id"].to_numpy(object) if len(spu) else [], dtype=np.int64)
    stale = _source.query(
        engine,
        s_cte + "SELECT s.id::text AS session_id, s.user_id::text AS user_id, s.role::text AS session_role, "
        "u.role::text AS user_role, s.created_at, s.expires_at FROM s JOIN u ON u.id = s.user_id "
        "WHERE s.expires_at > CAST(:as_of AS timestamptz) AND s.role::text <> u.role::text",
        p,
    )
    if stale.empty:
        stale = pd.DataFrame(columns=["session_id", "user_id", "session_role", "user_role", "created_at", "expires_at"])
    return _assemble(as_of, window, weekly, sizes, act, churned, rate, spu, stale)
