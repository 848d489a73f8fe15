"""The sign-ins conversations start from when a profile holds `conversations.weekly_active_users` (calibrated).

Without the key every conversation starts after a sign-in drawn uniformly from all of them (chat._starts), so a
week's distinct active users are a fresh draw (±5-8 % a week for a few thousand users). With it, each of the recent
complete ISO weeks draws sign-ins of that week, one at a time (uniformly, with replacement, as before), until as many
distinct non-admin users as the profile says have one: the week holds that many active users exactly (as far as the
sign-ins allow: at most three times the week's uniform share of conversations). The remaining conversations draw
uniformly from the sign-ins outside those weeks.
"""

from __future__ import annotations

import numpy as np

from .common import DAY, MINUTE, WEEK, Ctx
from .state import People

KEY = "conversations.weekly_active_users"
_MAX_SHARE = 3.0  # a week draws at most this many times its uniform share of the conversations


def weeks_end(as_of: int) -> int:
    """Monday 00:00 UTC (µs) of the ISO week holding the last minute before `as_of`: the end of the last complete
    week (fidelity's weeks: the twin's latest activity is in that minute's week)."""
    day = (as_of - MINUTE) // DAY
    return int((day - (day + 3) % 7) * DAY)  # 1970-01-01 was a Thursday


def _week_draws(ctx: Ctx, people: People, pool: np.ndarray, target: int, cap: int) -> np.ndarray:
    """Sign-ins drawn from `pool` until `target` distinct non-admin owners are among them (at most `cap` draws)."""
    if target <= 0 or not len(pool) or cap <= 0:
        return np.zeros(0, np.int64)
    draw = pool[ctx.rng.integers(0, len(pool), cap)]
    who = people.logins.owner[draw]
    new = np.zeros(cap, bool)
    new[np.unique(who, return_index=True)[1]] = True
    reached = np.cumsum(new & ~people.admin[who])
    return draw[: min(int(np.searchsorted(reached, target)) + 1, cap)]


def picks(ctx: Ctx, people: People, n: int) -> np.ndarray:
    """`n` indices into the sign-ins, conversations' starting points: the recent weeks' active users as the
    profile's `conversations.weekly_active_users` (oldest week first), the rest uniform over the other sign-ins."""
    rng = ctx.rng
    target = np.asarray(ctx.p(KEY), dtype=np.int64)[::-1]  # latest week first
    created = people.logins.created
    end = weeks_end(ctx.as_of)
    week = (end - 1 - created) // WEEK  # 0: the last complete week; -1: the partial week holding as_of
    inside = (created < end) & (week < len(target))
    per_login = n / max(len(created), 1)
    parts = []
    for k in range(len(target)):
        pool = np.flatnonzero(inside & (week == k))
        cap = min(n, int(np.ceil(_MAX_SHARE * per_login * len(pool))) + 10)
        parts.append(_week_draws(ctx, people, pool, int(target[k]), cap))
    drawn = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    if len(drawn) > n:  # fewer conversations than the weeks ask for: a uniform subset of them
        return np.sort(drawn[rng.choice(len(drawn), n, replace=False)])
    rest = np.flatnonzero(~inside)
    if not len(rest):
        rest = np.arange(len(created))
    return np.concatenate([drawn, rest[rng.integers(0, len(rest), n - len(drawn))]])
