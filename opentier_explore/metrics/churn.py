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

from ..errors import ConfigError
from ..snapshots import consistent
from . import _churn_sql, _cohorts, _source
from ._metric import Metric

__all__ = ["session_churn", "SessionChurn"]  # what metrics/__init__ exports

# ---- what it needs from the catalog ---------------------------------------------------------------------
ACTIVITIES = ("chat", "sessions")
_SESSIONS = ("id", "user_id", "role", "created_at", "expires_at")
_USERS = ("id", "role", "created_at")
_CHAT = {"chat_messages": ("conversation_id", "role", "created_at"), "conversations": ("id", "user_id")}
_STALE = ["session_id", "user_id", "session_role", "user_role", "created_at", "expires_at"]  # stale_roles' columns


def needs(activity: str = "chat") -> dict[str, tuple[str, ...]]:
    """The tables and columns session_churn reads for `activity` (its SQL statement reads the chat tables for both)."""
    return {"sessions": _SESSIONS, "users": _USERS, **(_CHAT if activity == "chat" else {})}


# ---- the result ------------------------------------------------------------------------------------------
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


@dataclass(frozen=True)
class _Pieces:
    """What both paths compute; _assemble turns it into the report."""

    as_of: pd.Timestamp
    observed_from: pd.Timestamp
    weekly: pd.Series  # week start → distinct active users
    sizes: pd.Series  # cohort week start → users
    act: pd.DataFrame  # c (cohort), k (week offset), n (distinct active users)
    churned: pd.DataFrame  # user_id, last_active_at (last activity before as_of − window)
    rate: pd.DataFrame  # week end → users_seen, active (in the window before it)
    per_user: pd.Series  # user_id → events
    sessions_per_user: pd.Series  # user_id → sessions
    stale: pd.DataFrame  # _STALE
    orphans: tuple[int, int]  # events, distinct user ids


def _check_args(window, activity) -> int:
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
        _source.check_sql(src, needs("chat"), "session_churn")
        return _assemble(_from_sql(src, as_of, window, activity), window, activity)
    frames = {t: _source.frame(src, t, cols, "session_churn") for t, cols in needs(activity).items()}
    return _assemble(_from_frames(frames, as_of, window, activity), window, activity)


# ---- in PostgreSQL: one statement (_churn_sql.CHURN) ------------------------------------------------------
#: the parts of CHURN's one row, and their columns
_PARTS = dict(
    weekly=("week", "n"), sizes=("cohort", "n"), act=("c", "k", "n"), churned=("user_id", "last_active_at"),
    rate=("t", "users_seen", "active"), per_user=("user_id", "n"), sessions_per_user=("user_id", "n"), stale=_STALE,
)  # fmt: skip


def _counts(df: pd.DataFrame, key: str) -> pd.Series:
    """A part's `n` as an int64 Series indexed by its `key` column."""
    return pd.Series(df["n"].to_numpy(np.int64), index=df[key].to_numpy(object), dtype=np.int64)


def _from_sql(engine, as_of, window: int, activity: str) -> _Pieces:
    """The pieces from one statement (_churn_sql.CHURN)."""
    params = {"as_of": _source.as_of_param(as_of), "window": window, "activity": activity}
    head, parts = _source.one_row(engine, _churn_sql.CHURN, params, _PARTS)
    act, rate, churned = parts["act"], parts["rate"], parts["churned"]
    return _Pieces(
        as_of=_source.as_of_from(None, head["as_of"]),
        observed_from=_source.utc(head["observed_from"]),
        weekly=_counts(parts["weekly"], "week").set_axis(_source.utc_index(parts["weekly"]["week"])),
        sizes=_counts(parts["sizes"], "cohort").set_axis(_source.utc_index(parts["sizes"]["cohort"])),
        act=act.assign(c=_source.utc_index(act["c"]), k=act["k"].astype(np.int64)) if len(act) else act,
        churned=churned.assign(last_active_at=_source.utc(churned["last_active_at"])),
        rate=pd.DataFrame(
            {"users_seen": rate["users_seen"].to_numpy(np.int64), "active": rate["active"].to_numpy(np.int64)},
            index=_source.utc_index(rate["t"], name="week_end"),
        ),
        per_user=_counts(parts["per_user"], "user_id"),
        sessions_per_user=_counts(parts["sessions_per_user"], "user_id"),
        stale=parts["stale"],
        orphans=(int(head["orphan_events"]), int(head["orphan_user_ids"])),
    )


# ---- in pandas -------------------------------------------------------------------------------------------
def _events(frames, activity: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(user_id, created_at) of every activity event of a known user, and of the orphans' events."""
    if activity == "sessions":
        s = frames["sessions"]
        ev = pd.DataFrame(
            {"user_id": s["user_id"].astype(object).to_numpy(), "created_at": _source.utc(s["created_at"])}
        )
        return ev, ev.iloc[:0]
    m, c = frames["chat_messages"], frames["conversations"]
    q = pd.DataFrame(
        {"conversation_id": m["conversation_id"].astype(object), "created_at": _source.utc(m["created_at"])}
    )
    q = q[(m["role"].astype(object) == "user").to_numpy()]
    owners = pd.DataFrame({"conversation_id": c["id"].astype(object), "user_id": c["user_id"].astype(object)})
    q = q.merge(owners, on="conversation_id")[["user_id", "created_at"]]
    known = q["user_id"].isin(set(frames["users"]["id"].astype(object)))
    return q[known.to_numpy()], q[~known.to_numpy()]


def _in_view(
    frames, as_of, activity: str
) -> tuple[pd.Timestamp, pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(as_of, events, orphans' events, users, sessions): what was there by as_of."""
    s, u = frames["sessions"], frames["users"]
    ev, orphans = _events(frames, activity)
    u_created = _source.utc(u["created_at"]).reset_index(drop=True)
    ev_created = _source.utc(ev["created_at"]).reset_index(drop=True)
    as_of = _source.as_of_from(as_of, pd.concat([ev_created, u_created]).max())
    ev = pd.DataFrame({"user_id": ev["user_id"].to_numpy(object), "created_at": ev_created})
    ev = ev[ev["created_at"] <= as_of]
    orphans = orphans[(_source.utc(orphans["created_at"]) <= as_of).to_numpy()] if len(orphans) else orphans
    users = pd.DataFrame(
        {"id": u["id"].astype(object).to_numpy(), "role": u["role"].astype(object).to_numpy(), "created_at": u_created}
    )
    sessions = pd.DataFrame({c: s[c].astype(object).to_numpy() for c in ("id", "user_id", "role")})
    sessions["created_at"] = _source.utc(s["created_at"]).to_numpy()
    sessions["expires_at"] = _source.utc(s["expires_at"]).to_numpy()
    return as_of, ev, orphans, users[users["created_at"] <= as_of], sessions[sessions["created_at"] <= as_of]


def _cohort_counts(
    ev: pd.DataFrame, ev_week: pd.Series, users: pd.DataFrame
) -> tuple[pd.Series, pd.Series, pd.DataFrame]:
    """(weekly actives, cohort sizes, actives by cohort c and week offset k)."""
    wa = ev.assign(w=ev_week).groupby("w")["user_id"].nunique()
    weekly = pd.Series(wa.to_numpy(np.int64), index=pd.DatetimeIndex(wa.index))
    cohort = _source.week_start(users["created_at"])
    joined = ev.assign(w=ev_week).merge(
        pd.DataFrame({"user_id": users["id"].to_numpy(), "c": cohort.array}), on="user_id"
    )
    joined["k"] = ((joined["w"] - joined["c"]) // _source.WEEK).astype(np.int64)
    return weekly, cohort.value_counts(), joined.groupby(["c", "k"])["user_id"].nunique().reset_index(name="n")


def _rate(ev: pd.DataFrame, ev_week: pd.Series, observed_from, as_of, window: int) -> pd.DataFrame:
    """At each week end: users first seen before it, and users active in the window before it."""
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
    return pd.DataFrame({"users_seen": seen.astype(np.int64), "active": active_at}, index=ends)


def _of_every_user(counts: pd.Series, users: pd.DataFrame) -> pd.Series:
    """`counts` (user_id → n) for every user, 0 included."""
    ids = users["id"].to_numpy(object)
    return pd.Series(counts.reindex(ids, fill_value=0).to_numpy(np.int64), index=ids)


def _stale(sessions: pd.DataFrame, users: pd.DataFrame, as_of) -> pd.DataFrame:
    """Sessions live at as_of whose role snapshot differs from the user's role."""
    live = sessions[(sessions["expires_at"] > as_of)].merge(
        users[["id", "role"]].rename(columns={"id": "user_id", "role": "user_role"}), on="user_id"
    )
    stale = live[live["role"] != live["user_role"]]
    return stale.rename(columns={"id": "session_id", "role": "session_role"})[_STALE]


def _from_frames(frames, as_of, window: int, activity: str) -> _Pieces:
    """The pieces from loaded frames (pandas)."""
    as_of, ev, orphans, users, sessions = _in_view(frames, as_of, activity)
    observed_from = ev["created_at"].min() if len(ev) else pd.NaT
    ev_week = _source.week_start(ev["created_at"])
    weekly, sizes, act = _cohort_counts(ev, ev_week, users)
    last = ev.groupby("user_id")["created_at"].max()
    churned = pd.DataFrame({"user_id": last.index.to_numpy(object), "last_active_at": last.to_numpy()})
    return _Pieces(
        as_of=as_of,
        observed_from=observed_from,
        weekly=weekly,
        sizes=sizes,
        act=act,
        churned=churned[churned["last_active_at"] < as_of - pd.Timedelta(days=window)],
        rate=_rate(ev, ev_week, observed_from, as_of, window),
        per_user=_of_every_user(ev.groupby("user_id").size(), users),
        sessions_per_user=_of_every_user(sessions.groupby("user_id").size(), users),
        stale=_stale(sessions, users, as_of),
        orphans=(len(orphans), int(orphans["user_id"].nunique()) if len(orphans) else 0),
    )


# ---- the assembly of the result --------------------------------------------------------------------------
def _churned(churned: pd.DataFrame, as_of, observed_from, window: int) -> pd.DataFrame | None:
    if pd.isna(observed_from) or pd.isna(as_of) or as_of - pd.Timedelta(days=window) < observed_from:
        return None
    out = pd.DataFrame(
        {
            "user_id": churned["user_id"].astype("str").to_numpy(),
            "last_active_at": _source.utc(churned["last_active_at"]).to_numpy(),
        }
    )
    return out.sort_values(["last_active_at", "user_id"], kind="stable").reset_index(drop=True)


def _churn_rate(rate: pd.DataFrame, observed_from, window: int) -> pd.DataFrame:
    seen = rate["users_seen"].to_numpy(np.int64)
    lost = seen - rate["active"].to_numpy(np.int64)
    shown = (rate.index - pd.Timedelta(days=window) >= observed_from) if len(rate) else np.zeros(0, bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(shown & (seen > 0), lost / np.maximum(seen, 1), np.nan)
    out = pd.DataFrame(
        {
            "users_seen": seen,
            "churned": pd.array(np.where(shown, lost, 0), dtype="Int64"),
            "churn_rate": share.astype(float),
        },
        index=rate.index,
    )
    out.loc[~np.asarray(shown, bool), "churned"] = pd.NA
    out.index.name = "week_end"
    return out


def _per_user(counts: pd.Series, name: str) -> pd.Series:
    return pd.Series(
        counts.to_numpy(np.int64), index=pd.Index(counts.index.to_numpy(object), name="user_id"), name=name
    ).sort_index()


def _stale_roles(stale: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({c: stale[c].astype("str").to_numpy() for c in _STALE[:4]})
    out["created_at"] = _source.utc(stale["created_at"]).to_numpy()
    out["expires_at"] = _source.utc(stale["expires_at"]).to_numpy()
    return out.sort_values(["created_at", "session_id"], kind="stable").reset_index(drop=True)


def _assemble(p: _Pieces, window: int, activity: str) -> SessionChurn:
    """The report from the path-independent pieces, with the shared dtypes, orderings and missing cells."""
    observed_from = _source.utc(p.observed_from)
    observed_from = observed_from.floor("us") if not pd.isna(observed_from) else pd.NaT
    retention, sizes = _cohorts.retention_grid(p.sizes, p.act, p.as_of, observed_from)
    return SessionChurn(
        p.as_of,
        window,
        activity,
        observed_from,
        _cohorts.weekly_series(p.weekly, _source.utc_index(p.sizes.index), p.as_of, observed_from),
        retention,
        sizes,
        _churned(p.churned, p.as_of, observed_from, window),
        _churn_rate(p.rate, observed_from, window),
        _per_user(p.per_user, "n_events"),
        _per_user(p.sessions_per_user, "n_sessions"),
        _stale_roles(p.stale),
        int(p.orphans[0]),
        int(p.orphans[1]),
    )


# ---- registration ----------------------------------------------------------------------------------------
#: both activities, each with the default window and a one-week one
_VARIANTS = ({}, {"window": 7}, {"activity": "sessions"}, {"activity": "sessions", "window": 7})
METRICS = (Metric("session_churn", session_churn, needs("chat"), variants=_VARIANTS, takes_as_of=True),)
