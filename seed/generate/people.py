"""Users and their activity: sign-ups with growth, roles and promotions, churn, soft deletes, 7-day sessions."""

from __future__ import annotations

import numpy as np

from .common import (DAY, HOUR, MINUTE, WEEK, Ctx, Table, bools, esc, exp, pick, stable, tokens, ts, ts_or_null,
                     unique_ints, uuids, words)

ROLES = ("user", "contributor", "admin")
USER, CONTRIBUTOR, ADMIN = 0, 1, 2
_DOMAINS = ("example.com", "example.org", "example.net", "mail.example", "students.example.edu", "corp.example")
_DOMAIN_W = (0.45, 0.15, 0.12, 0.12, 0.08, 0.08)
_V4_FIRST = (23, 31, 37, 45, 52, 62, 66, 73, 81, 89, 94, 98, 104, 109, 131, 142, 151, 176, 185, 188, 195, 203, 212, 217)
_V6_PREFIX = ("2001:4860", "2a00:1450", "2a02:8108", "2600:1700", "2406:da18", "2003:e2", "2a01:cb00", "2605:a601")
_UA_W = (6, 10, 9, 8, 5, 3, 3, 5, 7, 6, 2, 5, 3, 2, 0.5, 0.5)


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


def _sessions(ctx: Ctx, signup: np.ndarray, admin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Session owners and start times: one at sign-up, then a Poisson stream until the user churns."""
    rng, n = ctx.rng, len(signup)
    kind = rng.random(n)
    one_time = kind < ctx.p("sessions.one_time_share")
    loyal = (kind >= 1 - ctx.p("sessions.loyal_share")) | admin
    one_time &= ~admin
    life = rng.exponential(ctx.p("sessions.mean_lifetime_days") * DAY, size=n)
    life = np.where(loyal, np.inf, np.where(one_time, 0.0, life))
    end = np.minimum(signup + life, float(ctx.as_of - MINUTE))
    span = np.maximum(end - signup, 0.0)
    rate = ctx.p("sessions.weekly_rate_median") * exp(ctx.p("sessions.weekly_rate_sigma") * rng.standard_normal(n))
    rate = np.where(admin, np.maximum(rate, 5.0), rate)
    extra = rng.poisson(rate * span / WEEK)
    counts = 1 + np.minimum(extra, ctx.p("sessions.max_per_user") - 1)
    owner = np.repeat(np.arange(n), counts)
    offset = (rng.random(len(owner)) * span[owner]).astype(np.int64)
    first = np.zeros(n, dtype=np.int64)
    np.cumsum(counts[:-1], out=first[1:])
    offset[first] = rng.integers(0, 5 * MINUTE, size=n) if n else offset[first]
    created = np.minimum(signup[owner] + offset, ctx.as_of - MINUTE)
    order = np.lexsort((created, owner))
    return owner[order], created[order]


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
        at[late] = signup[chosen][late] + (rng.random(int(late.sum())) * (ctx.as_of - DAY - signup[chosen][late])).astype(np.int64)
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


def _ips(ctx: Ctx, n: int) -> list[str]:
    """`n` public-looking IPv4 and IPv6 addresses."""
    rng = ctx.rng
    v6 = rng.random(n) < ctx.p("sessions.ipv6_share")
    first = np.asarray(_V4_FIRST)[rng.integers(0, len(_V4_FIRST), n)]
    octets = rng.integers(1, 255, size=(n, 3))
    prefix = rng.integers(0, len(_V6_PREFIX), n)
    groups = rng.integers(0, 65536, size=(n, 4))
    out = []
    for i in range(n):
        if v6[i]:
            g = groups[i]
            out.append(f"{_V6_PREFIX[prefix[i]]}:{g[0]:x}:{g[1]:x}:{g[2]:x}::{g[3]:x}")
        else:
            o = octets[i]
            out.append(f"{first[i]}.{o[0]}.{o[1]}.{o[2]}")
    return out


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


def generate(ctx: Ctx) -> list[Table]:
    """Rows of users and sessions; leaves the people's arrays in ctx.state for later steps."""
    rng, n = ctx.rng, ctx.p("users.count")
    admins = ctx.p("users.admins")
    ids = uuids(rng, n)
    signup = _signups(ctx, n, admins)
    admin = np.arange(n) < admins
    owner, created = _sessions(ctx, signup, admin)
    counts = np.bincount(owner, minlength=n)
    last = np.full(n, ctx.start, dtype=np.int64)
    np.maximum.at(last, owner, created)
    deleted = _deletions(ctx, admin, last)
    promoted = _promotions(ctx, signup, admin, deleted >= 0, counts, owner, created)
    role = np.where(admin, ADMIN, np.where(promoted >= 0, CONTRIBUTOR, USER))

    # Identity: names, e-mail, username, auth method.
    first_names, last_names = words("first_names"), words("last_names")
    fi = rng.integers(0, len(first_names), n)
    li = rng.integers(0, len(last_names), n)
    style = rng.integers(0, 4, n)
    domain = pick(rng, _DOMAINS, n, _DOMAIN_W)
    num = rng.integers(1, 100, n)
    no_name = rng.random(n) < ctx.p("users.no_name_share")
    no_username = rng.random(n) < ctx.p("users.no_username_share")
    oauth_only = rng.random(n) < ctx.p("users.oauth_only_share")
    both = oauth_only & (rng.random(n) < ctx.p("users.oauth_both_share"))
    github_first = rng.random(n) < 0.55
    unverified = ~oauth_only & ~admin & (rng.random(n) < ctx.p("users.unverified_share"))
    linked = ~oauth_only & ~unverified & (rng.random(n) < ctx.p("users.password_linked_share"))
    hashes = words("bcrypt_hashes")
    hash_i = rng.integers(0, len(hashes), n)
    emails, usernames, names = [], [], []
    for i in range(n):
        f, l = first_names[fi[i]], last_names[li[i]].replace(" ", "")
        fl, ll = f.lower(), l.lower()
        local = (f"{fl}.{ll}", f"{fl[0]}{ll}", f"{fl}{num[i]}", f"{fl}_{ll}{num[i]}")[style[i]]
        emails.append(f"{local}@opentier.example" if admin[i] else f"{local}@{_DOMAINS[domain[i]]}")
        usernames.append((f"{fl}{ll}", f"{fl}_{ll}", f"{fl}{num[i]}", f"{fl[0]}{ll}{num[i]}")[style[i]])
        names.append(f"{f} {last_names[li[i]]}")
    emails = _dedupe(emails)
    usernames = _dedupe(usernames)
    gh_ids = unique_ints(rng, 1_000_000, 190_000_000, n)
    google_ids = unique_ints(rng, 10**17, 10**18, n)
    avatar_tok = rng.integers(0, 2**62, size=n)
    avatars: list[str | None] = []
    for i in range(n):
        if oauth_only[i] and (both[i] or github_first[i]):
            avatars.append(f"https://avatars.githubusercontent.com/u/{gh_ids[i]}?v=4")
        elif oauth_only[i]:
            avatars.append(f"https://lh3.googleusercontent.com/a/ACg8oc{avatar_tok[i]:x}=s96-c")
        else:
            avatars.append(None)
    updated = np.maximum(np.maximum(signup, promoted), deleted)
    users = Table("users", ["id", "email", "email_verified", "password_hash", "name", "username", "avatar_url",
                            "role", "deleted_at", "created_at", "updated_at"], [
        ids.tolist(), emails, bools(~unverified), [None if o else hashes[h] for o, h in zip(oauth_only, hash_i)],
        [None if x else esc(v) for x, v in zip(no_name, names)],
        [None if x else v for x, v in zip(no_username, usernames)], avatars,
        [ROLES[r] for r in role], ts_or_null(deleted, deleted >= 0), ts(signup), ts(updated),
    ])

    # Sessions: role snapshot at login; a home address and browser per user, sometimes another.
    m = len(owner)
    snap = np.where(admin[owner], ADMIN, np.where((promoted[owner] >= 0) & (created >= promoted[owner]), CONTRIBUTOR, USER))
    home_ip = _ips(ctx, n)
    roam = rng.random(m) < 0.2
    roam_ip = _ips(ctx, int(roam.sum()))
    ua = words("user_agents")
    home_ua = pick(rng, ua, n, _UA_W)
    other_ua = pick(rng, ua, m, _UA_W)
    keep_ua = rng.random(m) < 0.85
    sid = uuids(rng, m)
    tok = _unique_tokens(rng, m, 64)
    ips, it = [], iter(roam_ip)
    for j in range(m):
        ips.append(next(it) if roam[j] else home_ip[owner[j]])
    uas = [ua[i] for i in np.where(keep_ua, home_ua[owner], other_ua)]
    ttl = int(ctx.p("sessions.ttl_days") * DAY)
    created_s = ts(created)
    sessions = Table("sessions", ["id", "user_id", "session_token", "expires_at", "role", "ip_address", "user_agent",
                                  "created_at", "updated_at"], [
        sid.tolist(), ids[owner].tolist(), tok, ts(created + ttl), [ROLES[r] for r in snap], ips, uas,
        created_s, created_s,
    ])
    ctx.state.update(
        user_ids=ids, signup=signup, role=role, admin=admin, promoted=promoted, deleted=deleted, last=last,
        oauth_only=oauth_only, both=both, github_first=github_first, unverified=unverified, linked=linked,
        gh_ids=gh_ids, google_ids=google_ids, session_owner=owner, session_created=created,
    )
    return [users, sessions]


def _unique_tokens(rng: np.random.Generator, n: int, length: int) -> list[str]:
    """`n` distinct random alphanumeric tokens."""
    out = tokens(rng, n, length)
    if len(np.unique(out)) != n:  # 62**64 possibilities: never in practice, but the constraint is UNIQUE
        raise RuntimeError("random token collision")
    return out.tolist()
