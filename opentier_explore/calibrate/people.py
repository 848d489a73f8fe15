"""Users, their OAuth links and tokens: roles, sign-up growth, auth methods, soft deletes."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .entries import DATA, Entries
from .frame import Frame, histogram, row, stat
from .release import Stat, spread
from .snapshot import Schema

if TYPE_CHECKING:
    import psycopg

#: Equal slices of the history for the sign-up distribution (fewer for a short history).
PERIODS = 24

_USERS = """
WITH a AS (SELECT user_id, count(*) AS n FROM accounts GROUP BY user_id),
r AS (SELECT DISTINCT user_id FROM password_reset_tokens)
SELECT count(*),
  count(*) FILTER (WHERE u.role::text = 'admin'),
  count(*) FILTER (WHERE u.role::text = 'contributor'),
  count(*) FILTER (WHERE u.password_hash IS NULL),
  count(*) FILTER (WHERE u.password_hash IS NULL AND a.n >= 2),
  count(*) FILTER (WHERE u.password_hash IS NOT NULL AND u.role::text <> 'admin'),
  count(*) FILTER (WHERE u.password_hash IS NOT NULL AND u.role::text <> 'admin' AND NOT u.email_verified),
  count(*) FILTER (WHERE u.password_hash IS NOT NULL AND u.email_verified),
  count(*) FILTER (WHERE u.password_hash IS NOT NULL AND u.email_verified AND a.n >= 1),
  count(*) FILTER (WHERE u.deleted_at IS NOT NULL),
  count(*) FILTER (WHERE u.name IS NULL OR u.name = ''),
  count(*) FILTER (WHERE u.username IS NULL OR u.username = ''),
  count(*) FILTER (WHERE u.password_hash IS NOT NULL AND r.user_id IS NOT NULL)
FROM users u LEFT JOIN a ON a.user_id = u.id LEFT JOIN r ON r.user_id = u.id
"""
_FIELDS = (
    "users",
    "admins",
    "contributors",
    "oauth",
    "oauth_both",
    "pw_nonadmin",
    "pw_unverified",
    "pw_verified",
    "pw_linked",
    "deleted",
    "no_name",
    "no_username",
    "reset_users",
)

_SIGNUPS = """
SELECT width_bucket(extract(epoch FROM created_at), extract(epoch FROM %(start)s::timestamptz),
                    extract(epoch FROM %(as_of)s::timestamptz), %(periods)s), count(*)
FROM users WHERE role::text <> 'admin' GROUP BY 1
"""
_RECENT = """
SELECT count(DISTINCT s.user_id) FROM sessions s JOIN users u ON u.id = s.user_id
WHERE s.created_at <= %(latest)s AND s.expires_at > %(latest)s AND u.role::text = 'contributor'
  AND s.role::text <> u.role::text
"""
_LIVE_RESETS = "SELECT count(*) FROM password_reset_tokens WHERE created_at <= %(latest)s AND expires_at > %(latest)s"


def periods(frame: Frame) -> int:
    """How many equal slices of the history the sign-up distribution uses (about a week each at least)."""
    return max(2, min(PERIODS, frame.history_days // 7))


def measure(conn: psycopg.Connection, schema: Schema, frame: Frame) -> dict[str, Stat]:
    """The people statistics (one user moves each count by at most 1)."""
    p = frame.params(periods=periods(frame))
    out = {
        "users.flags": stat(row(conn, _USERS, p), len(_FIELDS)),
        "users.signups": stat(histogram(conn, _SIGNUPS, p, p["periods"]), 1),
        "tokens.live_resets": stat(row(conn, _LIVE_RESETS, p), 1),
    }
    if schema.has("sessions", "role", "expires_at"):
        out["users.recent_promotions"] = stat(row(conn, _RECENT, p), 1)
    return out


def _growth(signups: np.ndarray) -> float | None:
    """Sign-ups per day in the last tenth of the history ÷ in the first tenth (exponential growth's ratio)."""
    k = max(1, len(signups) // 10)
    first, last = signups[:k].sum(), signups[-k:].sum()
    if first <= 0 or last <= 0:
        return None
    # The tenths' mid-points are 0.9 of the history apart: extrapolate the ratio to the whole history.
    return math.exp(math.log(last / first) / (1 - 1 / (len(signups) / k)))


def estimate(out: Entries, schema: Schema) -> None:
    """Profile keys of [users] and [tokens]."""
    rel = out.rel
    f = dict(zip(_FIELDS, rel.vector("users.flags").tolist()))
    n = f["users"]
    out.count("users.count", n, "count of users", low=1)
    out.count("users.admins", f["admins"], "users with role 'admin'", low=1)
    recent = rel.scalar("users.recent_promotions") if rel.has("users.recent_promotions") else 0.0
    if "contributor" not in schema.roles:
        out.missing(("users.contributor_share", "users.recent_promotions"), "no 'contributor' role in this generation")
    else:
        out.share("users.contributor_share", max(f["contributors"] - recent, 0), n, "users with role 'contributor'")
        out.count("users.recent_promotions", recent, "contributors with a live session still holding role 'user'")
    out.share("users.oauth_only_share", f["oauth"], n, "users without a password hash")
    out.share("users.oauth_both_share", f["oauth_both"], f["oauth"], "password-less users with ≥ 2 accounts rows")
    out.share(
        "users.password_linked_share", f["pw_linked"], f["pw_verified"], "verified password users with an accounts row"
    )
    out.share("users.unverified_share", f["pw_unverified"], f["pw_nonadmin"], "non-admin password users not verified")
    out.share("users.deleted_share", f["deleted"], n, "users with deleted_at set")
    out.share("users.no_name_share", f["no_name"], n, "users with an empty name")
    out.share("users.no_username_share", f["no_username"], n, "users with an empty username")
    signups = spread(rel.vector("users.signups"), rel.min_count)
    if signups is None:
        out.fallback("users.growth", "suppressed", "suppressed: fewer than K sign-ups")
    else:
        out.put(
            "users.signups_per_period",
            [int(round(v)) for v in signups],
            f"non-admin sign-ups per 1/{len(signups)} of the history (cells below K merged with neighbours)",
        )
        out.number(
            "users.growth",
            _growth(signups),
            "sign-ups per day, last tenth of the history ÷ first tenth",
            low=0.01,
            high=1000,
        )
    out.share(
        "tokens.password_reset_share",
        f["reset_users"],
        f["pw_nonadmin"] + f["admins"],
        "password users holding a reset token",
    )
    out.count(
        "tokens.live_password_resets", rel.scalar("tokens.live_resets"), "reset tokens live at the latest activity"
    )
    # The rows themselves (a share of ~200 redrawn is ±7 %): users holding a reset token, less the live ones.
    live = out.items["tokens.live_password_resets"]
    out.count(
        "tokens.password_reset_users",
        f["reset_users"] - (live.value if live.origin == DATA else 0),
        "users holding a reset token, less those live at the latest activity",
    )
