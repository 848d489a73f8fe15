"""Churn: who keeps coming back (their questions in chat, or their logins), weekly cohorts, churn, stale role snapshots.

Conventions (both paths follow them exactly):
- `activity="chat"` (default): a user's activity is their questions — `chat_messages` rows with role 'user',
  owned through `conversations.user_id` (text). Questions whose conversation's user_id matches no users.id
  are counted (`orphan_events`, `orphan_user_ids`) and left out. `activity="sessions"`: the `created_at`
  of their sessions (logins). The API deletes expired sessions every hour, so a real `sessions` table
  only shows about the last 7 days.
- The observation window starts at `observed_from`, the earliest activity the data holds (up to as_of).
  Whatever lies before it cannot be seen: a week, cohort cell or churn figure that needs time before
  `observed_from` is missing (NA / NaN / None), never 0 and never "churned".
- Weeks are ISO weeks, Monday 00:00 UTC to the next Monday; a week is labelled by its Monday
  (`week_start`) or, for "at the week's end" figures, by the next Monday 00:00 UTC (`week_end`).
- `as_of` defaults to the latest activity or users.created_at, truncated to the microsecond; activity and
  users created after `as_of` are ignored.
- `weekly_active`: distinct active users per week, from the week of the first sign-up (or of `observed_from`
  if earlier) to the week holding `as_of` (the last week may be partial); NA for weeks starting before
  `observed_from`; 0 for observed weeks without activity.
- `cohort_retention`: cohort = signup week (users.created_at), for cohorts whose signup week has ended by
  `as_of`; cell (cohort, k) = share of the cohort active in the k-th week after the signup week (k = 0 is the
  signup week), NaN unless that week lies inside [observed_from, as_of]. Cohort sizes count every user who
  signed up, active or not (`cohort_sizes`).
- `churned`: users seen active whose last activity is more than `window` days before `as_of`
  (last < as_of − window); None when as_of − window is before `observed_from`.
- `churn_rate`: at each week end t after `observed_from`, up to `as_of`: `users_seen` (first activity in
  [observed_from, t)), `churned` (seen, but no activity in [t − window, t)) and `churn_rate` = churned /
  users_seen; `churned` and `churn_rate` are NA/NaN where t − window is before `observed_from`.
- `activity_per_user`: activity events up to `as_of` of every user who signed up by then (0 included);
  `sessions_per_user` likewise from the sessions table, whatever `activity` is.
- `stale_roles`: sessions live at `as_of` (created_at <= as_of < expires_at) whose role snapshot differs
  from the user's current users.role.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..snapshots import consistent
from . import _churn_sql, _source

ACTIVITIES = ("chat", "sessions")
_S = ("id", "user_id", "role", "created_at", "expires_at")
_U = ("id", "role", "created_at")
_M = ("conversation_id", "role", "created_at")
_C = ("id", "user_id")
_WEEK = pd.Timedelta(days=7)


@dataclass(frozen=True)
class SessionChurn:
    """The churn report; every attribute is a value, Series, DataFrame (or None where the data cannot show it)."""

    as_of: pd.Timestamp
    window: int
    activity: str  # "chat" or "sessions"
    observed_from: pd.Timestamp  # the earliest activity the data holds (NaT: none)
    weekly_active: pd.Series  # week_start → active_users (Int64; NA before observed_from)
    cohort_retention: pd.DataFrame  # cohort week_start × week offset → share (NaN: not observable)
    cohort_sizes: pd.Series  # cohort week_start → users
    churned: pd.DataFrame | None  # user_id, last_active_at; None when the window reaches before observed_from
    churn_rate: pd.DataFrame  # week_end → users_seen, churned (Int64), churn_rate
    activity_per_user: pd.Series  # user_id → n_events
    sessions_per_user: pd.Series  # user_id → n_sessions
    stale_roles: pd.DataFrame  # session_id, user_id, session_role, user_role, created_at, expires_at
    orphan_events: int  # chat questions whose conversation's user_id matches no user (left out)
    orphan_user_ids: int  # distinct such user ids


def needs(activity: str) -> dict[str, tuple[str, ...]]:
    """The tables and columns session_churn reads for `activity`."""
    out = {"sessions": _S, "users": _U}
    if activity == "chat":
        out.update(chat_messages=_M, conversations=_C)
    return out


def _check_args(window, activity) -> int:
    from ..errors import ConfigError

    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise ConfigError(f"`window` must be a positive whole number of days, not {window!r}.")
    if activity not in ACTIVITIES:
        raise ConfigError(f"`activity` must be 'chat' (questions asked) or 'sessions' (logins), not {activity!r}.")
    return int(window)


@consistent("src")
def session_churn(
    src: _source.Source, as_of: pd.Timestamp | str | None = None, window: int = 28, activity: str = "chat"
) -> SessionChurn:
    """Weekly actives, cohort retention, churned users and churn rate from chat or login activity; stale role snapshots."""
    window = _check_args(window, activity)
    if _source.is_engine(src):
        _source.check_sql(src, needs(activity), "session_churn")
        return assemble(*_churn_sql.aggregates(src, as_of, window, activity), window=window, activity=activity)
    frames = {t: _source.frame(src, t, cols, "session_churn") for t, cols in needs(activity).items()}
    return assemble(*_aggregates(frames, as_of, window, activity), window=window, activity=activity)


def as_of_from(as_of, latest) -> pd.Timestamp:
    """The given as_of, else the latest timestamp, in UTC and truncated to the microsecond."""
    chosen = _source.utc(as_of) if as_of is not None else _source.utc(latest)
    return chosen.floor("us") if not pd.isna(chosen) else pd.NaT


def _events(frames, activity: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(user_id, created_at) of every activity event of a known user, and of the orphans' events."""
    if activity == "sessions":
        s = frames["sessions"]
        ev = pd.DataFrame(
            {"user_id": s["user_id"].astype(object).to_numpy(), "created_at": _source.utc(s["created_at"]).to_numpy()}
        )
        return ev, ev.iloc[:0]
    m, c = frames["chat_messages"], frames["conversations"]
    q = pd.DataFrame(
        {
            "conversation_id": m["conversation_id"].astype(object).to_numpy(),
            "created_at": _source.utc(m["created_at"]).to_numpy(),
        }
    )[(m["role"].astype(object) == "user").to_numpy()]
    owners = pd.DataFrame(
        {"conversation_id": c["id"].astype(object).to_numpy(), "user_id": c["user_id"].astype(object).to_numpy()}
    )
    q = q.merge(owners, on="conversation_id")[["user_id", "created_at"]]
    known = q["user_id"].isin(set(frames["users"]["id"].astype(object)))
    return q[known.to_numpy()], q[~known.to_numpy()]


def _aggregates(frames, as_of, window: int, activity: str) -> tuple:
    """The path-independent aggregates computed in pandas."""
    s, u = frames["sessions"], frames["users"]
    ev, orphans = _events(frames, activity)
    u_created = _source.utc(u["created_at"]).reset_index(drop=True)
    ev_created = _source.utc(ev["created_at"]).reset_index(drop=True)
    as_of = as_of_from(as_of, pd.concat([ev_created, u_created]).max())
    ev = pd.DataFrame({"user_id": ev["user_id"].to_numpy(object), "created_at": ev_created})
    ev = ev[ev["created_at"] <= as_of]
    orphans = orphans[(_source.utc(orphans["created_at"]) <= as_of).to_numpy()] if len(orphans) else orphans
    usr = pd.DataFrame(
        {"id": u["id"].astype(object).to_numpy(), "role": u["role"].astype(object).to_numpy(), "created_at": u_created}
    )
    usr = usr[usr["created_at"] <= as_of]
    observed_from = ev["created_at"].min() if len(ev) else pd.NaT
    ev_week = _source.week_start(ev["created_at"])

    wa = ev.assign(w=ev_week).groupby("w")["user_id"].nunique()
    weekly = pd.Series(wa.to_numpy(np.int64), index=pd.DatetimeIndex(wa.index))

    cohort = _source.week_start(usr["created_at"])
    sizes = cohort.value_counts()
    joined = ev.assign(w=ev_week).merge(
        pd.DataFrame({"user_id": usr["id"].to_numpy(), "c": cohort.array}), on="user_id"
    )
    joined["k"] = ((joined["w"] - joined["c"]) // _WEEK).astype(np.int64)
    act = joined.groupby(["c", "k"])["user_id"].nunique().reset_index(name="n")

    last = ev.groupby("user_id")["created_at"].max()
    churned = pd.DataFrame({"user_id": last.index.to_numpy(object), "last_active_at": last.to_numpy()})
    churned = churned[churned["last_active_at"] < as_of - pd.Timedelta(days=window)]

    ends = _source.week_ends(observed_from, as_of)
    first = np.sort(ev.groupby("user_id")["created_at"].min().to_numpy(dtype="datetime64[ns]"))
    seen = np.searchsorted(first, ends.tz_convert(None).to_numpy(), side="left")
    # week ends t covered by an event at c: c < t <= c + window, i.e. Mondays after c's week start
    base = ev_week.to_numpy(dtype="datetime64[ns]")
    limit = (ev["created_at"] + pd.Timedelta(days=window)).to_numpy(dtype="datetime64[ns]")
    hits = []
    for j in range(1, window // 7 + 2):  # a handful of offsets, each vectorized over every event
        t = base + np.timedelta64(7 * j, "D")
        ok = t <= limit
        hits.append(pd.DataFrame({"user_id": ev["user_id"].to_numpy()[ok], "t": t[ok]}))
    active = pd.concat(hits).drop_duplicates().groupby("t").size() if hits else pd.Series(dtype=np.int64)
    active_at = active.reindex(ends.tz_convert(None).to_numpy(), fill_value=0).to_numpy(np.int64)
    rate = pd.DataFrame({"users_seen": seen.astype(np.int64), "active": active_at}, index=ends)

    per_user = ev.groupby("user_id").size()
    apu = pd.Series(
        per_user.reindex(usr["id"].to_numpy(), fill_value=0).to_numpy(np.int64), index=usr["id"].to_numpy(object)
    )
    ses = pd.DataFrame(
        {
            "id": s["id"].astype(object).to_numpy(),
            "user_id": s["user_id"].astype(object).to_numpy(),
            "role": s["role"].astype(object).to_numpy(),
            "created_at": _source.utc(s["created_at"]).to_numpy(),
            "expires_at": _source.utc(s["expires_at"]).to_numpy(),
        }
    )
    ses = ses[ses["created_at"] <= as_of]
    spu = ses.groupby("user_id").size()
    spu = pd.Series(
        spu.reindex(usr["id"].to_numpy(), fill_value=0).to_numpy(np.int64), index=usr["id"].to_numpy(object)
    )

    live = ses[(ses["expires_at"] > as_of)].merge(
        usr[["id", "role"]].rename(columns={"id": "user_id", "role": "user_role"}), on="user_id"
    )
    stale = live[live["role"] != live["user_role"]]
    stale = pd.DataFrame(
        {
            "session_id": stale["id"],
            "user_id": stale["user_id"],
            "session_role": stale["role"],
            "user_role": stale["user_role"],
            "created_at": stale["created_at"],
            "expires_at": stale["expires_at"],
        }
    )
    orphan = (len(orphans), int(orphans["user_id"].nunique()) if len(orphans) else 0)
    return as_of, observed_from, weekly, sizes, act, churned, rate, apu, spu, stale, orphan


def _utc_index(index) -> pd.DatetimeIndex:
    """Week labels (naive UTC or tz-aware) as a tz-aware UTC nanosecond index."""
    if not len(index):
        return pd.DatetimeIndex([], tz="UTC").as_unit("ns")
    return pd.DatetimeIndex(_source.utc(pd.Series(index)).to_numpy()).tz_localize(None).tz_localize("UTC").as_unit("ns")


def _weekly(weekly: pd.Series, sizes_index, as_of, observed_from) -> pd.Series:
    weekly.index = _utc_index(weekly.index)
    starts = [i.min() for i in (weekly.index, sizes_index) if len(i)]
    if starts and not pd.isna(as_of):
        full = pd.date_range(min(starts), _source.week_start(pd.Series([as_of])).iloc[0], freq="7D", tz="UTC")
        weekly = weekly.reindex(full, fill_value=0)
    out = pd.Series(weekly.to_numpy(np.int64), index=_utc_index(weekly.index), name="active_users", dtype="Int64")
    if len(out):
        out[pd.isna(observed_from) | (out.index < observed_from)] = pd.NA
    out.index.name = "week_start"
    return out


def _retention(sizes: pd.Series, act: pd.DataFrame, as_of, observed_from) -> tuple[pd.DataFrame, pd.Series]:
    sizes.index = _utc_index(sizes.index)
    sizes = sizes.sort_index().astype(np.int64)
    if not pd.isna(as_of):
        sizes = sizes[sizes.index + _WEEK <= as_of]
    sizes = pd.Series(sizes.to_numpy(np.int64), index=_utc_index(sizes.index), name="users")
    sizes.index.name = "cohort"
    n_off = int((as_of - sizes.index.min()) // _WEEK) if len(sizes) else 0
    grid = np.full((len(sizes), n_off), np.nan)
    if len(act) and len(sizes):
        row = sizes.index.get_indexer(_utc_index(act["c"]))
        k = act["k"].to_numpy(np.int64)
        ok = (row >= 0) & (k >= 0) & (k < n_off)
        grid[row[ok], k[ok]] = act["n"].to_numpy(float)[ok]
    cell = sizes.index.tz_convert(None).to_numpy()[:, None] + np.arange(n_off)[None, :] * _WEEK.to_timedelta64()
    observable = (
        cell + _WEEK.to_timedelta64() <= as_of.tz_convert(None).to_datetime64() if len(sizes) else cell.astype(bool)
    )
    if pd.isna(observed_from):
        observable &= False
    elif len(sizes):
        observable &= cell >= observed_from.tz_convert(None).to_datetime64()
    grid = np.where(observable, np.nan_to_num(grid, nan=0.0) / sizes.to_numpy(float)[:, None], np.nan)
    return pd.DataFrame(grid, index=sizes.index, columns=pd.RangeIndex(n_off, name="week")), sizes


def _per_user(counts: pd.Series, name: str) -> pd.Series:
    return pd.Series(
        counts.to_numpy(np.int64), index=pd.Index(counts.index.to_numpy(object), name="user_id"), name=name
    ).sort_index()


def assemble(
    as_of, observed_from, weekly, sizes, act, churned, rate, apu, spu, stale, orphan, *, window: int, activity: str
) -> SessionChurn:
    """The report from the path-independent aggregates, with the shared dtypes, orderings and missing cells."""
    observed_from = _source.utc(observed_from)
    observed_from = observed_from.floor("us") if not pd.isna(observed_from) else pd.NaT
    weekly_out = _weekly(weekly, _utc_index(sizes.index), as_of, observed_from)
    retention, sizes = _retention(sizes, act, as_of, observed_from)

    knowable = not pd.isna(observed_from) and not pd.isna(as_of) and as_of - pd.Timedelta(days=window) >= observed_from
    churned_out = None
    if knowable:
        churned_out = pd.DataFrame(
            {
                "user_id": churned["user_id"].astype("str").to_numpy(),
                "last_active_at": _source.utc(churned["last_active_at"]).to_numpy(),
            }
        )
        churned_out = churned_out.sort_values(["last_active_at", "user_id"], kind="stable").reset_index(drop=True)

    seen = rate["users_seen"].to_numpy(np.int64)
    lost = seen - rate["active"].to_numpy(np.int64)
    shown = (rate.index - pd.Timedelta(days=window) >= observed_from) if len(rate) else np.zeros(0, bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(shown & (seen > 0), lost / np.maximum(seen, 1), np.nan)
    churn_rate = pd.DataFrame(
        {
            "users_seen": seen,
            "churned": pd.array(np.where(shown, lost, 0), dtype="Int64"),
            "churn_rate": share.astype(float),
        },
        index=rate.index,
    )
    churn_rate.loc[~np.asarray(shown, bool), "churned"] = pd.NA
    churn_rate.index.name = "week_end"

    stale = pd.DataFrame(
        {
            "session_id": stale["session_id"].astype("str").to_numpy(),
            "user_id": stale["user_id"].astype("str").to_numpy(),
            "session_role": stale["session_role"].astype("str").to_numpy(),
            "user_role": stale["user_role"].astype("str").to_numpy(),
            "created_at": _source.utc(stale["created_at"]).to_numpy(),
            "expires_at": _source.utc(stale["expires_at"]).to_numpy(),
        }
    )
    stale = stale.sort_values(["created_at", "session_id"], kind="stable").reset_index(drop=True)
    return SessionChurn(
        as_of,
        window,
        activity,
        observed_from,
        weekly_out,
        retention,
        sizes,
        churned_out,
        churn_rate,
        _per_user(apu, "n_events"),
        _per_user(spu, "n_sessions"),
        stale,
        int(orphan[0]),
        int(orphan[1]),
    )
