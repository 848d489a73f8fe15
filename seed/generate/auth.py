"""OAuth links (accounts) and the short-lived tokens: e-mail verification and password reset, some expired."""

from __future__ import annotations

import numpy as np

from .common import DAY, HOUR, MINUTE, Ctx, Table, tokens, ts, uuids

_GH_SCOPE = "read:user user:email"
_GOOGLE_SCOPE = "openid https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/userinfo.profile"


def _accounts(ctx: Ctx) -> Table:
    rng, st = ctx.rng, ctx.state
    oauth_only, both, github_first, linked = st["oauth_only"], st["both"], st["github_first"], st["linked"]
    signup = st["signup"]
    # (user, provider) pairs: OAuth-only users have one or both; linked password users one, added later.
    gh_users = np.flatnonzero((oauth_only & (both | github_first)) | (linked & github_first))
    go_users = np.flatnonzero((oauth_only & (both | ~github_first)) | (linked & ~github_first))
    user = np.concatenate([gh_users, go_users])
    google = np.concatenate([np.zeros(len(gh_users), bool), np.ones(len(go_users), bool)])
    n = len(user)
    at = signup[user].copy()
    later = linked[user]
    at[later] += (rng.random(int(later.sum())) * (ctx.as_of - HOUR - signup[user][later])).astype(np.int64)
    at[~later] += rng.integers(0, 30 * 1_000_000, size=int((~later).sum()))  # the link is made while signing up
    # The access token was refreshed at the user's last login (github tokens do not expire).
    refreshed = np.maximum(at, st["last"][user])
    acc_tok = tokens(rng, n, 36)
    refresh_tok = tokens(rng, n, 60)
    id_tok = tokens(rng, n, 120)
    provider_id = np.where(google, st["google_ids"][user], st["gh_ids"][user])
    cols: list[list] = [[] for _ in range(12)]
    ids = uuids(rng, n).tolist()
    user_ids = st["user_ids"][user].tolist()
    at_s, ref_s, exp_s = ts(at), ts(refreshed), ts(refreshed + HOUR)
    for i in range(n):
        g = bool(google[i])
        row = (
            ids[i], user_ids[i], "google" if g else "github", str(provider_id[i]),
            f"ya29.a0{acc_tok[i]}" if g else f"gho_{acc_tok[i]}",
            f"1//0{refresh_tok[i]}" if g else None,
            exp_s[i] if g else None,
            "Bearer" if g else "bearer",
            _GOOGLE_SCOPE if g else _GH_SCOPE,
            f"eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.{id_tok[i]}" if g else None,
            at_s[i], ref_s[i],
        )
        for c, v in zip(cols, row):
            c.append(v)
    return Table("accounts", ["id", "user_id", "provider", "provider_account_id", "access_token", "refresh_token",
                              "expires_at", "token_type", "scope", "id_token", "created_at", "updated_at"], cols)


def _verification(ctx: Ctx) -> Table:
    rng, st = ctx.rng, ctx.state
    signup, unverified, oauth_only = st["signup"], st["unverified"], st["oauth_only"]
    # Unverified users: the sign-up token and sometimes a re-sent one; a few verified users' tokens were never cleaned.
    leftover = ~oauth_only & ~unverified & (rng.random(len(signup)) < ctx.p("tokens.verification_leftover_share"))
    resent = unverified & (rng.random(len(signup)) < 0.35)
    user = np.concatenate([np.flatnonzero(unverified | leftover), np.flatnonzero(resent)])
    second = np.concatenate([np.zeros(int((unverified | leftover).sum()), bool), np.ones(int(resent.sum()), bool)])
    n = len(user)
    created = signup[user] + rng.integers(0, 5_000_000, n)
    created[second] += rng.integers(10 * MINUTE, 3 * DAY, int(second.sum()))
    created = np.minimum(created, ctx.as_of - MINUTE)
    order = np.lexsort((created, user))
    user, created = user[order], created[order]
    otp = rng.integers(0, 1_000_000, n)
    return Table("verification_tokens", ["id", "user_id", "token", "otp", "expires_at", "created_at"], [
        uuids(rng, n).tolist(), st["user_ids"][user].tolist(), _unique(tokens(rng, n, 64)),
        [f"{v:06d}" for v in otp.tolist()], ts(created + DAY), ts(created),
    ])


def _password_resets(ctx: Ctx) -> Table:
    rng, st = ctx.rng, ctx.state
    signup, oauth_only, last = st["signup"], st["oauth_only"], st["last"]
    pw = np.flatnonzero(~oauth_only)
    asked = pw[rng.random(len(pw)) < ctx.p("tokens.password_reset_share")]
    lo = signup[asked]
    hi = np.maximum(lo, np.minimum(last[asked], ctx.as_of - 2 * HOUR))
    created = lo + (rng.random(len(asked)) * (hi - lo)).astype(np.int64)
    # A few resets asked for within the last hour: still valid at as_of.
    recent = pw[last[pw] > ctx.as_of - 14 * DAY]
    k = min(ctx.p("tokens.live_password_resets"), len(recent))
    live = rng.choice(recent, size=k, replace=False) if k else np.zeros(0, np.int64)
    user = np.concatenate([asked, live])
    created = np.concatenate([created, ctx.as_of - rng.integers(MINUTE, 50 * MINUTE, k)])
    n = len(user)
    return Table("password_reset_tokens", ["id", "user_id", "token", "expires_at", "created_at"], [
        uuids(rng, n).tolist(), st["user_ids"][user].tolist(), _unique(tokens(rng, n, 64)),
        ts(created + HOUR), ts(created),
    ])


def _unique(values: np.ndarray) -> list[str]:
    if len(np.unique(values)) != len(values):
        raise RuntimeError("random token collision")
    return values.tolist()


def generate(ctx: Ctx) -> list[Table]:
    """Rows of accounts, verification_tokens and password_reset_tokens."""
    return [_accounts(ctx), _verification(ctx), _password_resets(ctx)]

