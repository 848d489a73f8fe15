"""The `sessions` table as the API leaves it at as_of, from the users' full login history.

The API (server/api/src/auth) inserts a row per sign-in, deletes it on sign-out, replaces it on refresh (a new
row and token that keep the old role snapshot), deletes a user's other rows when the password changes and all
of them on a soft delete, and deletes expired rows every hour. With `sessions.keep_history` nothing is deleted:
every login and refresh row stays (a deployment that archives sessions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .common import DAY, HOUR, MINUTE, Ctx, Table, lognormal_us, pick, tokens, ts, uuids, words
from .state import ROLES, People

#: The web client's proxy as the API sees it (password sign-ins and refreshes store the TCP peer); it moved
#: to another address when the stack was redeployed halfway through the history.
PROXY_ADDRESSES = ("172.18.0.4", "172.18.0.6")
_UA_W = (6, 10, 9, 8, 5, 3, 3, 5, 7, 6, 2, 5, 3, 2, 0.5, 0.5)
_MAX_REFRESHES = 3  # refreshes chained on one sign-in at most
_NEVER = np.iinfo(np.int64).max
_COLUMNS = (
    "id",
    "user_id",
    "session_token",
    "expires_at",
    "role",
    "ip_address",
    "user_agent",
    "created_at",
    "updated_at",
)


@dataclass
class _Rows:
    owner: np.ndarray  # user index
    created: np.ndarray  # µs
    role: np.ndarray  # role snapshot (index into ROLES)
    oauth: np.ndarray  # an OAuth sign-in (NULL ip_address and user_agent)
    gone: np.ndarray  # µs when the API deleted the row for a reason other than expiry (_NEVER: not deleted)
    login: np.ndarray  # index of the sign-in the row descends from


def _refreshes(ctx: Ctx, rows: _Rows, ttl: int) -> _Rows:
    """Chains of refreshes: a refreshed row is deleted and a new one, with the same role snapshot, inserted."""
    rng = ctx.rng
    parts = [rows]
    cur = rows
    for _ in range(_MAX_REFRESHES):
        n = len(cur.owner)
        when = cur.created + ((0.5 + 0.5 * rng.random(n)) * ttl).astype(np.int64)
        hit = (rng.random(n) < ctx.p("sessions.refresh_share")) & (cur.gone == _NEVER) & (when <= ctx.as_of - MINUTE)
        cur.gone[hit] = when[hit]
        idx = np.flatnonzero(hit)
        if not len(idx):
            break
        cur = _Rows(
            cur.owner[idx],
            when[idx],
            cur.role[idx],
            np.zeros(len(idx), bool),
            np.full(len(idx), _NEVER, np.int64),
            cur.login[idx],
        )
        parts.append(cur)
    return _Rows(
        *(
            np.concatenate([getattr(p, f) for p in parts])
            for f in ("owner", "created", "role", "oauth", "gone", "login")
        )
    )


def _password_changes(ctx: Ctx, rows: _Rows, ttl: int, password_users: np.ndarray, signup, last) -> None:
    """A password change deletes the user's other live rows (the one used to change it stays)."""
    rng = ctx.rng
    who = password_users[rng.random(len(password_users)) < ctx.p("sessions.password_change_share")]
    at = np.full(len(signup), -1, dtype=np.int64)
    at[who] = signup[who] + (rng.random(len(who)) * (last[who] - signup[who])).astype(np.int64)
    t = at[rows.owner]
    live = (t >= 0) & (rows.created <= t) & (rows.created + ttl > t) & (rows.gone > t)
    idx = np.flatnonzero(live)
    if not len(idx):
        return
    order = idx[np.lexsort((rows.created[idx], rows.owner[idx]))]
    current = np.r_[rows.owner[order][1:] != rows.owner[order][:-1], True]  # the latest live row of each user
    drop = order[~current]
    rows.gone[drop] = np.minimum(rows.gone[drop], t[drop])


def _left_at_as_of(ctx: Ctx, people: People, snapshot: np.ndarray, ttl: int) -> tuple[_Rows, np.ndarray]:
    """Every row the API wrote (sign-ins and refreshes) and the indices of those still there at as_of, by user
    then time (every row, with `sessions.keep_history`)."""
    rng = ctx.rng
    owner, created = people.logins.owner, people.logins.created
    m = len(owner)
    out = rng.random(m) < ctx.p("sessions.signout_share")
    signout_at = created + np.minimum(lognormal_us(rng, 40 * MINUTE, 1.2, m), ttl - MINUTE)
    gone = np.where(out, signout_at, _NEVER)
    rows = _refreshes(ctx, _Rows(owner, created, snapshot, people.oauth_only[owner], gone, np.arange(m)), ttl)
    password_users = np.flatnonzero(~people.oauth_only)
    _password_changes(ctx, rows, ttl, password_users, people.signup, people.last)
    dead = people.deleted[rows.owner]
    soft = dead >= 0
    rows.gone[soft] = np.minimum(rows.gone[soft], dead[soft])
    if ctx.p("sessions.keep_history"):
        keep = rows.created <= ctx.as_of
    else:
        last_cleanup = ctx.as_of - int(rng.integers(0, HOUR))  # DELETE ... WHERE expires_at < now(), every hour
        fresh = (rows.created + ttl >= last_cleanup) & (rows.created <= ctx.as_of)
        keep = (rows.gone > ctx.as_of) & fresh
        if "sessions.live_rows" in ctx.profile:
            signed_out = np.zeros(len(rows.owner), bool)
            signed_out[:m] = out & ~soft[:m]
            _hold_rows(ctx, people, rows, keep, signed_out & fresh)
    idx = np.flatnonzero(keep)
    return rows, idx[np.lexsort((rows.created[idx], rows.owner[idx]))]


def _hold_rows(ctx: Ctx, people: People, rows: _Rows, keep: np.ndarray, revivable: np.ndarray) -> None:
    """More or fewer sign-outs (which leave no trace once purged), so that non-admin users hold the profile's
    `sessions.live_rows` rows at as_of: kept rows signed out, or signed-out ones (`revivable`) left live."""
    rng = ctx.rng
    counted = ~people.admin[rows.owner]
    have, target = int((keep & counted).sum()), int(ctx.p("sessions.live_rows"))
    if have > target:
        drop = rng.choice(np.flatnonzero(keep & counted), have - target, replace=False)
        rows.gone[drop] = rows.created[drop] + (rng.random(len(drop)) * (ctx.as_of - rows.created[drop])).astype(
            np.int64
        )
        keep[drop] = False
    elif have < target:
        cand = np.flatnonzero(revivable & counted & ~keep)
        back = rng.choice(cand, min(target - have, len(cand)), replace=False)
        rows.gone[back] = _NEVER
        keep[back] = True


def table(ctx: Ctx, people: People, snapshot: np.ndarray) -> Table:
    """The sessions rows left at as_of (or every row, with `sessions.keep_history`) for the people's sign-ins,
    `snapshot` being each sign-in's role (index into ROLES)."""
    rng = ctx.rng
    ttl = int(ctx.p("sessions.ttl_days") * DAY)
    rows, idx = _left_at_as_of(ctx, people, snapshot, ttl)
    n = len(idx)
    o, c, oa = rows.owner[idx], rows.created[idx], rows.oauth[idx]
    ua = words("user_agents")
    home_ua = pick(rng, ua, len(people.ids), _UA_W)
    other_ua = pick(rng, ua, n, _UA_W)
    keep_ua = rng.random(n) < 0.85
    midpoint = ctx.start + (ctx.as_of - ctx.start) // 2
    ip = [None if a else PROXY_ADDRESSES[int(t >= midpoint)] for a, t in zip(oa.tolist(), c.tolist())]
    agent = [None if a else ua[int(u)] for a, u in zip(oa.tolist(), np.where(keep_ua, home_ua[o], other_ua).tolist())]
    tok = tokens(rng, n, 64)
    if len(np.unique(tok)) != n:  # 62**64 possibilities: never in practice, but the column is UNIQUE
        raise RuntimeError("random token collision")
    created_text = ts(c)
    return Table(
        "sessions",
        list(_COLUMNS),
        [
            uuids(rng, n).tolist(),
            people.ids[o].tolist(),
            tok.tolist(),
            ts(c + ttl),
            [ROLES[r] for r in rows.role[idx].tolist()],
            ip,
            agent,
            created_text,
            created_text,
        ],
    )
