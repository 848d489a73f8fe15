"""Users and their activity: sign-ups with growth, roles and promotions, churn, soft deletes, and their sign-ins."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import sessions as session_rows
from .common import (
    DAY,
    HOUR,
    MINUTE,
    WEEK,
    Ctx,
    Table,
    bools,
    esc,
    exp,
    pick,
    stable,
    ts,
    ts_or_null,
    unique_ints,
    uuids,
    words,
)
from .state import ADMIN, CONTRIBUTOR, ROLES, USER, Logins, People

_USER_COLUMNS = (
    "id",
    "email",
    "email_verified",
    "password_hash",
    "name",
    "username",
    "avatar_url",
    "role",
    "deleted_at",
    "created_at",
    "updated_at",
)
_DOMAINS = ("example.com", "example.org", "example.net", "mail.example", "students.example.edu", "corp.example")
_DOMAIN_W = (0.45, 0.15, 0.12, 0.12, 0.08, 0.08)


def _signups(ctx: Ctx, n: int, admins: int) -> np.ndarray:
    """Sign-up times, ascending: admins in the first two days, everyone else growing exponentially."""
    rng = ctx.rng
    first = ctx.start + np.sort(rng.integers(0, 2 * DAY, size=admins))
    if "users.signups_per_period" in ctx.profile:
        return np.concatenate([first, _signups_by_period(ctx, n - admins)])
    g = float(stable(np.log(ctx.p("users.growth"))))
    u = rng.random(n - admins)
    frac = u if abs(g) < 1e-9 else stable(np.log1p(u * float(stable(np.expm1(g))))) / g
    lo, hi = ctx.start + DAY, ctx.as_of - HOUR
    rest = np.sort(lo + (frac * (hi - lo)).astype(np.int64))
    return np.concatenate([first, rest])


def _signups_by_period(ctx: Ctx, n: int) -> np.ndarray:
    """`n` sign-up times, ascending, from the profile's empirical sign-ups per equal slice of the history."""
    rng = ctx.rng
    w = np.asarray(ctx.p("users.signups_per_period"), dtype=float)
    lo, hi = ctx.start + DAY, ctx.as_of - HOUR
    edges = ctx.start + (np.arange(len(w) + 1) * ((ctx.as_of - ctx.start) / len(w))).astype(np.int64)
    period = rng.choice(len(w), size=n, p=w / w.sum()) if n else np.zeros(0, np.int64)
    at = edges[period] + (rng.random(n) * (edges[period + 1] - edges[period])).astype(np.int64)
    return np.sort(np.clip(at, lo, hi))


def _sessions(ctx: Ctx, signup: np.ndarray, admin: np.ndarray, can_login: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every sign-in (owner, time): one at sign-up, then a Poisson stream until the user churns; none for users who
    cannot sign in (unverified e-mail)."""
    rng, n = ctx.rng, len(signup)
    if ctx.profile.get("sessions.stratified", False):
        kind, life, z = _stratified(ctx, n)
    else:
        kind = rng.random(n)
        life = rng.exponential(ctx.p("sessions.mean_lifetime_days") * DAY, size=n)
        z = None
    one_time = kind < ctx.p("sessions.one_time_share")
    loyal = (kind >= 1 - ctx.p("sessions.loyal_share")) | admin
    one_time &= ~admin
    life = np.where(loyal, np.inf, np.where(one_time, 0.0, life))
    end = np.minimum(signup + life, float(ctx.as_of - MINUTE))
    span = np.maximum(end - signup, 0.0)
    z = rng.standard_normal(n) if z is None else z
    rate = ctx.p("sessions.weekly_rate_median") * exp(ctx.p("sessions.weekly_rate_sigma") * z)
    rate = np.where(admin, np.maximum(rate, 5.0), rate)
    extra = rng.poisson(rate * span / WEEK)
    counts = np.where(can_login, 1 + np.minimum(extra, ctx.p("sessions.max_per_user") - 1), 0)
    owner = np.repeat(np.arange(n), counts)
    offset = (rng.random(len(owner)) * span[owner]).astype(np.int64)
    first = np.zeros(n, dtype=np.int64)
    np.cumsum(counts[:-1], out=first[1:])
    at_signup = rng.integers(0, 5 * MINUTE, size=n)
    offset[first[can_login]] = at_signup[can_login]
    created = np.minimum(signup[owner] + offset, ctx.as_of - MINUTE)
    order = np.lexsort((created, owner))
    return owner[order], created[order]


def _stratified(ctx: Ctx, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each user's kind (uniform), lifetime (µs) and ln-rate deviate by stratified sampling (`sessions.stratified`):
    one draw in each 1/n slice of each distribution, shuffled, so the shares and spreads hold exactly, not on average."""
    from scipy.special import ndtri

    rng = ctx.rng

    def u() -> np.ndarray:
        return (rng.permutation(n) + rng.random(n)) / max(n, 1)

    kind = u()
    life = -ctx.p("sessions.mean_lifetime_days") * DAY * stable(np.log1p(-u()))
    return kind, life, ndtri(np.clip(u(), 1e-12, 1 - 1e-12))


def _promotions(ctx: Ctx, signup, admin, deleted, counts, owner, created) -> np.ndarray:
    """Promotion time per user (-1 = never promoted): contributors, plus a few promoted in the last days."""
    rng, n = ctx.rng, len(signup)
    promoted = np.full(n, -1, dtype=np.int64)
    eligible = np.flatnonzero(~admin & ~deleted)
    k = min(int(round(ctx.p("users.contributor_share") * n)), len(eligible))
    if k:
        w = counts[eligible].astype(float)
        chosen = np.sort(rng.choice(eligible, size=k, replace=False, p=w / w.sum()))
        delay = rng.exponential(40 * DAY, size=k).astype(np.int64)
        at = signup[chosen] + delay
        late = at >= ctx.as_of - DAY
        at[late] = signup[chosen][late] + (
            rng.random(int(late.sum())) * (ctx.as_of - DAY - signup[chosen][late])
        ).astype(np.int64)
        promoted[chosen] = np.maximum(at, signup[chosen] + HOUR)  # after the sign-up session
    # Recent promotions: users with a live session promoted after it, so that live session's role is stale.
    ttl = int(ctx.p("sessions.ttl_days") * DAY)
    live = created > ctx.as_of - ttl
    has_live = np.zeros(n, dtype=bool)
    has_live[owner[live]] = True
    first_live = np.full(n, ctx.as_of, dtype=np.int64)
    np.minimum.at(first_live, owner[live], created[live])
    cand = np.flatnonzero(has_live & ~admin & ~deleted & (promoted < 0) & (first_live < ctx.as_of - 2 * MINUTE))
    k = min(ctx.p("users.recent_promotions"), len(cand))
    if k:
        chosen = np.sort(rng.choice(cand, size=k, replace=False))
        lo = first_live[chosen] + MINUTE
        promoted[chosen] = lo + (rng.random(k) * (ctx.as_of - MINUTE - lo)).astype(np.int64)
    return promoted


def _deletions(ctx: Ctx, admin, last) -> np.ndarray:
    """Soft-delete time per user (-1 = active): some users who stopped coming closed their account."""
    rng, n = ctx.rng, len(last)
    deleted = np.full(n, -1, dtype=np.int64)
    cand = np.flatnonzero(~admin & (last < ctx.as_of - 30 * DAY))
    k = min(int(round(ctx.p("users.deleted_share") * n)), len(cand))
    if k:
        chosen = np.sort(rng.choice(cand, size=k, replace=False))
        gap = rng.exponential(20 * DAY, size=k).astype(np.int64)
        deleted[chosen] = last[chosen] + np.minimum(gap, ctx.as_of - last[chosen] - MINUTE)
    return deleted


def _dedupe(values: list[str]) -> list[str]:
    """Make strings unique by appending a number to repeats (before an @ if any)."""
    seen: set[str] = set()
    out = []
    for v in values:
        cand, k = v, 1
        while cand in seen:
            k += 1
            local, at, domain = v.partition("@")
            cand = f"{local}{k}{at}{domain}"
        seen.add(cand)
        out.append(cand)
    return out


@dataclass(frozen=True)
class _Identity:
    """What a user row shows of a person: e-mail, username, display name, avatar, password hash."""

    emails: list[str]
    usernames: list[str]
    names: list[str]
    no_name: np.ndarray
    no_username: np.ndarray
    hash_index: np.ndarray  # into words("bcrypt_hashes")
    avatars: list[str | None]


def _handles(ctx: Ctx, n: int, admin: np.ndarray) -> tuple[list[str], list[str], list[str]]:
    """E-mail addresses, usernames and display names from the first and last names lists (unique where required)."""
    rng = ctx.rng
    first_names, last_names = words("first_names"), words("last_names")
    fi = rng.integers(0, len(first_names), n)
    li = rng.integers(0, len(last_names), n)
    style = rng.integers(0, 4, n)
    domain = pick(rng, _DOMAINS, n, _DOMAIN_W)
    num = rng.integers(1, 100, n)
    emails, usernames, names = [], [], []
    for i in range(n):
        given, family = first_names[fi[i]], last_names[li[i]].replace(" ", "")
        fl, ll = given.lower(), family.lower()
        local = (f"{fl}.{ll}", f"{fl[0]}{ll}", f"{fl}{num[i]}", f"{fl}_{ll}{num[i]}")[style[i]]
        emails.append(f"{local}@opentier.example" if admin[i] else f"{local}@{_DOMAINS[domain[i]]}")
        usernames.append((f"{fl}{ll}", f"{fl}_{ll}", f"{fl}{num[i]}", f"{fl[0]}{ll}{num[i]}")[style[i]])
        names.append(f"{given} {last_names[li[i]]}")
    return _dedupe(emails), _dedupe(usernames), names


def _avatars(oauth_only, both, github_first, github_ids, avatar_token) -> list[str | None]:
    """The provider's avatar URL of OAuth-only users (GitHub's if they have it), None for password users."""
    avatars: list[str | None] = []
    for i in range(len(oauth_only)):
        if oauth_only[i] and (both[i] or github_first[i]):
            avatars.append(f"https://avatars.githubusercontent.com/u/{github_ids[i]}?v=4")
        elif oauth_only[i]:
            avatars.append(f"https://lh3.googleusercontent.com/a/ACg8oc{avatar_token[i]:x}=s96-c")
        else:
            avatars.append(None)
    return avatars


def _users_table(people: People, who: _Identity) -> Table:
    updated = np.maximum(np.maximum(people.signup, people.promoted), people.deleted)
    hashes = words("bcrypt_hashes")
    return Table(
        "users",
        list(_USER_COLUMNS),
        [
            people.ids.tolist(),
            who.emails,
            bools(~people.unverified),
            [None if o else hashes[h] for o, h in zip(people.oauth_only, who.hash_index)],
            [None if x else esc(v) for x, v in zip(who.no_name, who.names)],
            [None if x or o else v for x, o, v in zip(who.no_username, people.oauth_only, who.usernames)],
            who.avatars,
            [ROLES[r] for r in people.role],
            ts_or_null(people.deleted, people.deleted >= 0),
            ts(people.signup),
            ts(updated),
        ],
    )


def _sessions_table(ctx: Ctx, people: People) -> Table:
    """Sessions: role snapshot at login; OAuth-only users sign in through their provider."""
    owner, created = people.logins.owner, people.logins.created
    promoted = people.promoted[owner]
    snapshot = np.where(
        people.admin[owner], ADMIN, np.where((promoted >= 0) & (created >= promoted), CONTRIBUTOR, USER)
    )
    return session_rows.table(ctx, people, snapshot)


def generate(ctx: Ctx) -> tuple[list[Table], People]:
    """Rows of users and sessions, and the people every later step builds on."""
    rng, n = ctx.rng, ctx.p("users.count")
    admins = ctx.p("users.admins")
    ids = uuids(rng, n)
    signup = _signups(ctx, n, admins)
    admin = np.arange(n) < admins
    oauth_only = rng.random(n) < ctx.p("users.oauth_only_share")
    unverified = ~oauth_only & ~admin & (rng.random(n) < ctx.p("users.unverified_share"))
    owner, created = _sessions(ctx, signup, admin, ~unverified)
    counts = np.bincount(owner, minlength=n)
    last = signup.copy()
    np.maximum.at(last, owner, created)
    deleted = _deletions(ctx, admin, last)
    promoted = _promotions(ctx, signup, admin, deleted >= 0, counts, owner, created)
    emails, usernames, names = _handles(ctx, n, admin)
    no_name = rng.random(n) < ctx.p("users.no_name_share")
    no_username = rng.random(n) < ctx.p("users.no_username_share")
    both = oauth_only & (rng.random(n) < ctx.p("users.oauth_both_share"))
    github_first = rng.random(n) < 0.55
    linked = ~oauth_only & ~unverified & (rng.random(n) < ctx.p("users.password_linked_share"))
    hash_index = rng.integers(0, len(words("bcrypt_hashes")), n)
    people = People(
        ids=ids,
        signup=signup,
        role=np.where(admin, ADMIN, np.where(promoted >= 0, CONTRIBUTOR, USER)),
        admin=admin,
        promoted=promoted,
        deleted=deleted,
        last=last,
        oauth_only=oauth_only,
        both=both,
        github_first=github_first,
        unverified=unverified,
        linked=linked,
        github_ids=unique_ints(rng, 1_000_000, 190_000_000, n),
        google_ids=unique_ints(rng, 10**17, 10**18, n),
        logins=Logins(owner, created),
    )
    avatars = _avatars(oauth_only, both, github_first, people.github_ids, rng.integers(0, 2**62, size=n))
    who = _Identity(emails, usernames, names, no_name, no_username, hash_index, avatars)
    return [_users_table(people, who), _sessions_table(ctx, people)], people
