"""Sessions: who comes back, how often and for how long — fitted by simulating the generator's own model."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .entries import Entries
from .frame import Frame, capped, histogram, row, stat
from .release import Stat, quantiles, spread
from .snapshot import Schema

if TYPE_CHECKING:
    import psycopg

WEEKS = 8  # weekly actives fitted over the last 8 weeks
_RATE_EDGES = np.linspace(-6.0, 6.0, 49)  # ln(sessions per week) cells

_PER_USER = """
WITH s AS (SELECT user_id, created_at FROM {sessions} s WHERE created_at <= %(latest)s),
per AS (
  SELECT u.created_at AS signup, count(s.created_at) AS n, min(s.created_at) AS first, max(s.created_at) AS last,
    coalesce(bool_or(s.created_at >= u.created_at + interval '7 days' AND s.created_at < u.created_at + interval '14 days'), false) AS w1,
    coalesce(bool_or(s.created_at >= %(as_of)s - interval '28 days'), false) AS a28,
    {weeks}
  FROM users u LEFT JOIN s ON s.user_id = u.id WHERE u.role::text <> 'admin' GROUP BY u.id, u.created_at
)
SELECT count(*), count(*) FILTER (WHERE n = 1), count(*) FILTER (WHERE signup < %(as_of)s - interval '14 days'),
  count(*) FILTER (WHERE signup < %(as_of)s - interval '14 days' AND w1), count(*) FILTER (WHERE a28),
  sum(n), {week_counts}
FROM per
"""
_RATES = """
WITH s AS (SELECT user_id, created_at FROM {sessions} s WHERE created_at <= %(latest)s),
per AS (SELECT s.user_id, count(*) AS n, extract(epoch FROM max(s.created_at) - min(s.created_at)) / 604800.0 AS weeks
        FROM s JOIN users u ON u.id = s.user_id WHERE u.role::text <> 'admin' GROUP BY s.user_id)
SELECT width_bucket(ln((n - 1) / weeks), -6.0, 6.0, 48), count(*) FROM per WHERE n >= 3 AND weeks > 0 GROUP BY 1
"""
_SESSION_ROWS = """
SELECT count(*) FILTER (WHERE ip_address IS NOT NULL), count(*) FILTER (WHERE family(ip_address) = 6), {ttl}
FROM {sessions} s WHERE created_at <= %(latest)s
"""
_FIELDS = ("users", "one_session", "observable", "week1", "active28", "sessions")


def _weeks_sql() -> tuple[str, str]:
    flags = ", ".join(
        f"coalesce(bool_or(s.created_at >= %(as_of)s - interval '{7 * (k + 1)} days' AND "
        f"s.created_at < %(as_of)s - interval '{7 * k} days'), false) AS wk{k}" for k in range(WEEKS))
    counts = ", ".join(f"count(*) FILTER (WHERE wk{k})" for k in range(WEEKS))
    return flags, counts


def measure(conn: "psycopg.Connection", schema: Schema, frame: Frame) -> dict[str, Stat]:
    """Per-user session statistics (each user counts once) and per-session ones (rows bounded per user)."""
    if not schema.has("sessions", "user_id", "created_at"):
        return {}
    p = frame.params()
    sessions = capped("sessions", "user_id", frame.cap)
    flags, counts = _weeks_sql()
    per_user = row(conn, _PER_USER.format(sessions=sessions, weeks=flags, week_counts=counts), p)
    cap = frame.cap or 1
    ttl = ("count(*) FILTER (WHERE expires_at IS NOT NULL), "
           "coalesce(sum(least(greatest(extract(epoch FROM expires_at - created_at) / 3600.0, 0), 24 * 30)), 0)"
           if schema.has("sessions", "expires_at") else "0, 0")
    rows = row(conn, _SESSION_ROWS.format(sessions=sessions, ttl=ttl), p)
    return {
        # One user moves each of the flag counts by 1, and the session total by at most `cap`.
        "sessions.per_user": stat(per_user, len(per_user) - 1 + cap),
        "sessions.rates": stat(histogram(conn, _RATES.format(sessions=sessions), p, 48), 1),
        "sessions.rows": stat(rows[:2], 2 * cap),
        "sessions.ttl_hours": stat(rows[2:], (1 + 24 * 30) * cap),
    }


def _log_rate(rel) -> tuple[float, float] | None:
    """Median and spread (σ) of ln(weekly session rate) of users with ≥ 3 sessions."""
    counts = spread(rel.vector("sessions.rates"), rel.min_count)
    if counts is None:
        return None
    med, q16, q84 = quantiles(counts, _RATE_EDGES, [0.5, 0.1587, 0.8413])
    return med, max((q84 - q16) / 2, 0.0)


def estimate(out: Entries, frame: Frame) -> None:
    """Profile keys of [sessions]: the churn model fitted to the observed statistics."""
    from .fit import Targets, fit_sessions

    rel = out.rel
    keys = ("sessions.one_time_share", "sessions.loyal_share", "sessions.mean_lifetime_days",
            "sessions.weekly_rate_median", "sessions.weekly_rate_sigma")
    if not rel.has("sessions.per_user"):
        out.missing(keys + ("sessions.ipv6_share", "sessions.ttl_days"), "no sessions table")
        return
    f = dict(zip(_FIELDS, rel.vector("sessions.per_user")[:len(_FIELDS)].tolist()))
    weekly = rel.vector("sessions.per_user")[len(_FIELDS):]
    rate = _log_rate(rel)
    n = f["users"]
    if rate is None or not rel.enough(n, f["one_session"], f["observable"], f["week1"], f["active28"], *weekly):
        for key in keys:
            out.fallback(key, "suppressed", "suppressed: fewer than K users behind the session statistics")
    else:
        signups = out.items.get("users.signups_per_period")
        targets = Targets(
            one_session=f["one_session"] / n, week1=f["week1"] / max(f["observable"], 1), active28=f["active28"] / n,
            weekly=tuple(w / n for w in weekly), per_user=f["sessions"] / n, log_rate=rate,
        )
        fitted = fit_sessions(targets, frame, signups.value if signups else None, out.demo)
        what = ("churn model fitted by simulation to: one-session share, week-1 returns, 28-day and weekly actives, "
                "sessions per user, ln weekly rate")
        for key in keys:
            out.number(key, fitted[key], what, digits=4)
    r = dict(zip(("with_ip", "ipv6"), rel.vector("sessions.rows")[:2].tolist()))
    out.share("sessions.ipv6_share", r["ipv6"], r["with_ip"], "sessions with an IPv6 address")
    with_ttl, hours = rel.vector("sessions.ttl_hours").tolist()
    out.number("sessions.ttl_days", hours / 24 / with_ttl if rel.enough(with_ttl) else None,
               "mean expires_at − created_at of sessions", low=0.0, digits=2)
