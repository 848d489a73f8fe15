"""Who comes back, how often and for how long — the churn model fitted to chat activity by simulating the generator.

A real `sessions` table holds only what the API has not purged (about the last 7 days), so the churn model is fitted
to what the database keeps whole: each user's conversations (`conversations.user_id`, text, matched to `users.id`),
as `session_churn(activity="chat")` reads activity. The generator starts every conversation in one of its owner's
sign-ins, so the conversations are a sample of the sign-ins the model draws.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .entries import Entries
from .frame import Frame, capped, histogram, row, stat
from .release import Stat, quantiles, spread
from .snapshot import Schema

if TYPE_CHECKING:
    import psycopg

WEEKS = 8  # weekly actives fitted over the last 8 complete ISO weeks (as fidelity compares them)
_RATE_EDGES = np.linspace(-6.0, 6.0, 49)  # ln(conversations per week) cells

_EVENTS = """(SELECT c.user_id, c.created_at FROM {convs} c WHERE c.created_at <= %(latest)s)"""
_PER_USER = """
WITH c AS {events},
per AS (
  SELECT u.created_at AS signup, count(c.created_at) AS n,
    coalesce(bool_or(c.created_at >= u.created_at + interval '7 days' AND c.created_at < u.created_at + interval '14 days'), false) AS w1,
    coalesce(bool_or(c.created_at >= %(as_of)s - interval '28 days'), false) AS a28,
    {weeks}
  FROM users u LEFT JOIN c ON c.user_id = u.id::text WHERE u.role::text <> 'admin' GROUP BY u.id, u.created_at
)
SELECT count(*), count(*) FILTER (WHERE n = 1), count(*) FILTER (WHERE signup < %(as_of)s - interval '14 days'),
  count(*) FILTER (WHERE signup < %(as_of)s - interval '14 days' AND w1), count(*) FILTER (WHERE a28),
  sum(n), count(*) FILTER (WHERE n = 0), {week_counts}
FROM per
"""
_RATES = """
WITH c AS {events},
per AS (SELECT u.id, count(*) AS n, extract(epoch FROM max(c.created_at) - min(c.created_at)) / 604800.0 AS weeks
        FROM c JOIN users u ON u.id::text = c.user_id WHERE u.role::text <> 'admin' GROUP BY u.id)
SELECT width_bucket(ln((n - 1) / weeks), -6.0, 6.0, 48), count(*) FROM per WHERE n >= 3 AND weeks > 0 GROUP BY 1
"""
_SESSION_ROWS = """
SELECT {ttl} FROM {sessions} s WHERE created_at <= %(latest)s
"""
# The rows the table holds, of non-admin users: how often people sign in (conversations only give the relative rate).
_LIVE_ROWS = """
SELECT count(*) FROM {sessions} s JOIN users u ON u.id = s.user_id
WHERE s.created_at <= %(latest)s AND u.role::text <> 'admin'
"""
_FIELDS = ("users", "one_event", "observable", "week1", "active28", "events", "no_event")


def _weeks_sql() -> tuple[str, str]:
    flags = ", ".join(
        f"coalesce(bool_or(c.created_at >= %(weeks_end)s - interval '{7 * (k + 1)} days' AND "
        f"c.created_at < %(weeks_end)s - interval '{7 * k} days'), false) AS wk{k}"
        for k in range(WEEKS)
    )
    counts = ", ".join(f"count(*) FILTER (WHERE wk{k})" for k in range(WEEKS))
    return flags, counts


def measure(conn: psycopg.Connection, schema: Schema, frame: Frame) -> dict[str, Stat]:
    """Per-user chat statistics (each user counts once, events bounded per user) and the sessions' lifetimes."""
    out: dict[str, Stat] = {}
    p = frame.params()
    cap = frame.cap or 1
    if schema.has("conversations", "user_id", "created_at"):
        events = _EVENTS.format(convs=capped("conversations", "user_id", frame.cap))
        flags, counts = _weeks_sql()
        per_user = row(conn, _PER_USER.format(events=events, weeks=flags, week_counts=counts), p)
        # One user moves each of the flag counts by 1, and the conversation total by at most `cap`; the weeks are
        # a vector of their own (sensitivity WEEKS), so their noise does not scale with the row cap.
        n = len(_FIELDS)
        out["activity.per_user"] = stat(per_user[:n], n - 1 + cap)
        out["activity.weekly"] = stat(per_user[n:], WEEKS)
        out["activity.rates"] = stat(histogram(conn, _RATES.format(events=events), p, 48), 1)
    if schema.has("sessions", "user_id", "created_at", "expires_at"):
        ttl = (
            "count(*) FILTER (WHERE expires_at < %(latest)s - interval '1 day'), count(*), "
            "coalesce(sum(least(greatest(extract(epoch FROM expires_at - created_at) / 3600.0, 0), 24 * 30)), 0)"
        )
        sessions = capped("sessions", "user_id", frame.cap)
        out["sessions.ttl_hours"] = stat(
            row(conn, _SESSION_ROWS.format(sessions=sessions, ttl=ttl), p), (2 + 24 * 30) * cap
        )
        out["sessions.rows"] = stat(row(conn, _LIVE_ROWS.format(sessions=sessions), p), cap)
    return out


def _log_rate(rel) -> tuple[float, float] | None:
    """Median and spread (σ) of ln(weekly conversation rate) of users with ≥ 3 conversations."""
    counts = spread(rel.vector("activity.rates"), rel.min_count)
    if counts is None:
        return None
    med, q16, q84 = quantiles(counts, _RATE_EDGES, [0.5, 0.1587, 0.8413])
    return med, max((q84 - q16) / 2, 0.0)


_CHURN = (
    "sessions.one_time_share",
    "sessions.loyal_share",
    "sessions.mean_lifetime_days",
    "sessions.weekly_rate_median",
    "sessions.weekly_rate_sigma",
)
_WEEKLY = "conversations.weekly_active_users"
# Invisible once the API has purged them: a sign-out or refresh deletes the row; so is a password change.
_UNSEEN = ("sessions.signout_share", "sessions.refresh_share", "sessions.password_change_share")


def _no_login(out: Entries) -> float:
    """The share of users who cannot sign in (unverified password users), from the estimates made so far."""

    def v(key: str) -> float:
        e = out.items.get(key)
        return float(e.value if e is not None and e.value is not None else out.demo[key])

    return v("users.unverified_share") * (1 - v("users.oauth_only_share"))


def _rows_per_user(out: Entries, users: float) -> float | None:
    """Rows of the sessions table per non-admin user (None: no sessions table, or fewer than K rows)."""
    if not out.rel.has("sessions.rows"):
        return None
    rows = out.rel.scalar("sessions.rows")
    return rows / users if out.rel.enough(rows) and users > 0 else None


def _fixed(out: Entries) -> dict:
    """The session keys the churn simulation does not fit: this profile's estimates, else the demo's."""
    keys = ("sessions.max_per_user", "sessions.ttl_days", "sessions.keep_history", "sessions.stratified", *_UNSEEN)
    got = {}
    for key in keys:
        e = out.items.get(key)
        got[key] = e.value if e is not None and e.value is not None else out.demo.get(key, False)
    return got


def _churn(out: Entries, frame: Frame) -> None:
    from .fit import Targets, fit_sessions

    rel = out.rel
    if not rel.has("activity.per_user"):
        out.missing((*_CHURN, _WEEKLY), "no conversations table to read activity from")
        return
    f = dict(zip(_FIELDS, rel.vector("activity.per_user").tolist()))
    weekly = rel.vector("activity.weekly")
    rate = _log_rate(rel)
    n = f["users"]
    if rate is None or not rel.enough(
        n, f["one_event"], f["observable"], f["week1"], f["active28"], f["no_event"], *weekly
    ):
        for key in (*_CHURN, _WEEKLY):
            out.fallback(key, "suppressed", "suppressed: fewer than K users behind the chat statistics")
        return
    signups = out.items.get("users.signups_per_period")
    targets = Targets(
        one_session=f["one_event"] / n,
        week1=f["week1"] / max(f["observable"], 1),
        active28=f["active28"] / n,
        weekly=tuple(w / n for w in weekly),
        per_user=f["events"] / n,
        log_rate=rate,
        no_event=f["no_event"] / n,
        no_login=_no_login(out),
        session_rows=_rows_per_user(out, n),
    )
    fitted = fit_sessions(targets, frame, signups.value if signups else None, _fixed(out))
    what = (
        "churn model fitted by simulation to chat activity (conversations per user): one- and no-conversation "
        "shares, week-1 returns, 28-day and weekly actives, ln weekly conversation rate; and to the sessions "
        "table's rows per user (how often people sign in)"
    )
    for key in _CHURN:
        out.number(key, fitted[key], what, digits=4)
    # The weeks themselves: a stationary churn model cannot hold a source's dip or peak, nor a few thousand users'
    # own week-to-week noise; the generator draws each week's conversations until it holds this many users.
    out.put(
        _WEEKLY,
        [int(round(w)) for w in weekly[::-1].tolist()],
        f"non-admin users starting a conversation in each of the last {WEEKS} complete ISO weeks before the week "
        "holding the latest activity, oldest first",
    )


def estimate(out: Entries, frame: Frame) -> None:
    """Profile keys of [sessions]: the sessions' lifetime and purging, then the churn model fitted to chat activity."""
    out.missing(_UNSEEN, "not visible once the API has purged the sessions table")
    # A twin's population is a few thousand users: stratified draws keep its one-time/loyal counts and heavy rate
    # tail at the fitted values instead of a fresh binomial and log-normal draw (±5 % in every weekly active count).
    out.put("sessions.stratified", True, "user kinds, lifetimes and rates drawn stratified (the fitted shares exactly)")
    if not out.rel.has("sessions.ttl_hours"):
        out.missing(("sessions.ttl_days", "sessions.keep_history"), "no sessions table")
        _churn(out, frame)
        return
    old, with_ttl, hours = out.rel.vector("sessions.ttl_hours").tolist()
    out.number(
        "sessions.ttl_days",
        hours / 24 / with_ttl if out.rel.enough(with_ttl) else None,
        "mean expires_at − created_at of sessions",
        low=0.0,
        digits=2,
    )
    # The API deletes expired sessions hourly: K or more expired over a day ago means the table keeps its history.
    out.put(
        "sessions.keep_history",
        bool(out.rel.enough(old)),
        "sessions expired over a day before the latest activity: at least K of them means the table is not purged",
    )
    if not out.rel.enough(old) and out.rel.has("sessions.rows"):  # a purged table: the rows it holds, exactly
        out.count("sessions.live_rows", out.rel.scalar("sessions.rows"), "rows of non-admin users' sessions")
    _churn(out, frame)
