"""OAuth links (accounts) and the short-lived tokens: e-mail verification and password reset, at most one per user."""

from __future__ import annotations

import numpy as np

from .common import DAY, HOUR, MINUTE, Ctx, Table, tokens, ts, uuids
from .state import People

TOKEN_LENGTH = 32  # verification and password-reset tokens: 32 random alphanumeric characters
_ACCOUNT_COLUMNS = (
    "id",
    "user_id",
    "provider",
    "provider_account_id",
    "access_token",
    "refresh_token",
    "expires_at",
    "token_type",
    "scope",
    "id_token",
    "created_at",
    "updated_at",
)


def _accounts(ctx: Ctx, people: People) -> Table:
    rng = ctx.rng
    oauth_only, both, github_first, linked = people.oauth_only, people.both, people.github_first, people.linked
    signup = people.signup
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
    # The access token was refreshed at the user's last login; the API stores no other token column.
    refreshed = np.maximum(at, people.last[user])
    acc_tok = tokens(rng, n, 36)
    provider_id = np.where(google, people.google_ids[user], people.github_ids[user])
    prov = np.where(google, "google", "github").tolist()
    acc = [f"ya29.a0{t}" if g else f"gho_{t}" for g, t in zip(google.tolist(), acc_tok.tolist())]
    nulls = [None] * n
    return Table(
        "accounts",
        list(_ACCOUNT_COLUMNS),
        [
            uuids(rng, n).tolist(),
            people.ids[user].tolist(),
            prov,
            provider_id.astype(str).tolist(),
            acc,
            nulls,
            nulls,
            nulls,
            nulls,
            nulls,
            ts(at),
            ts(refreshed),
        ],
    )


def _verification(ctx: Ctx, people: People) -> Table:
    rng = ctx.rng
    signup, unverified = people.signup, people.unverified
    # Verifying deletes a user's tokens and a re-sent code replaces the old one: only unverified users have one,
    # from sign-up or from their latest re-send.
    user = np.flatnonzero(unverified)
    n = len(user)
    created = signup[user] + rng.integers(0, 5_000_000, n)
    resent = rng.random(n) < 0.35
    created[resent] += rng.integers(10 * MINUTE, 3 * DAY, int(resent.sum()))
    created = np.minimum(created, ctx.as_of - MINUTE)
    otp = rng.integers(0, 1_000_000, n)
    return Table(
        "verification_tokens",
        ["id", "user_id", "token", "otp", "expires_at", "created_at"],
        [
            uuids(rng, n).tolist(),
            people.ids[user].tolist(),
            _unique(tokens(rng, n, TOKEN_LENGTH)),
            [f"{v:06d}" for v in otp.tolist()],
            ts(created + DAY),
            ts(created),
        ],
    )


def _password_resets(ctx: Ctx, people: People) -> Table:
    rng = ctx.rng
    signup, oauth_only, last = people.signup, people.oauth_only, people.last
    # A reset that was used deleted its token; these are the requests never used, one per user at most
    # (a new request replaces the old one).
    pw = np.flatnonzero(~oauth_only)
    if "tokens.password_reset_users" in ctx.profile:  # calibrated: the source's number of (unused) requests
        asked = np.sort(rng.choice(pw, size=min(ctx.p("tokens.password_reset_users"), len(pw)), replace=False))
    else:
        asked = pw[rng.random(len(pw)) < ctx.p("tokens.password_reset_share")]
    lo = signup[asked]
    hi = np.maximum(lo, np.minimum(last[asked], ctx.as_of - 2 * HOUR))
    created = lo + (rng.random(len(asked)) * (hi - lo)).astype(np.int64)
    # A few resets asked for within the last hour: still valid at as_of (they replace an older request).
    recent = pw[last[pw] > ctx.as_of - 14 * DAY]
    k = min(ctx.p("tokens.live_password_resets"), len(recent))
    live = rng.choice(recent, size=k, replace=False) if k else np.zeros(0, np.int64)
    created[np.isin(asked, live)] = -1
    keep = created >= 0
    user = np.concatenate([asked[keep], live])
    created = np.concatenate([created[keep], ctx.as_of - rng.integers(MINUTE, 50 * MINUTE, k)])
    order = np.argsort(user, kind="stable")
    user, created = user[order], created[order]
    n = len(user)
    return Table(
        "password_reset_tokens",
        ["id", "user_id", "token", "expires_at", "created_at"],
        [
            uuids(rng, n).tolist(),
            people.ids[user].tolist(),
            _unique(tokens(rng, n, TOKEN_LENGTH)),
            ts(created + HOUR),
            ts(created),
        ],
    )


def _unique(values: np.ndarray) -> list[str]:
    if len(np.unique(values)) != len(values):
        raise RuntimeError("random token collision")
    return values.tolist()


def generate(ctx: Ctx, people: People) -> list[Table]:
    """Rows of accounts, verification_tokens and password_reset_tokens."""
    return [_accounts(ctx, people), _verification(ctx, people), _password_resets(ctx, people)]
