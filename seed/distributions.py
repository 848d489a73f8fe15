"""Optional empirical distributions in a profile (written by `opentier-explore calibrate`), validated key by key.

A hand-written profile may leave every one of them out: the generator then uses the parametric keys.
- `users.signups_per_period`: sign-ups (any non-negative weights) per equal slice of the history, oldest first.
- `conversations.length_weights`: `[[messages, weight], …]` — messages on a conversation's main path
  (system prompt excluded), replacing the short/long turn mixture and `unanswered_share`.
- `conversations.mirror_conversation_share`: the oldest share of conversations `messages` mirrors, replacing
  `mirror_share` (a share of the history).
- `conversations.mirror_rows`: rows of `messages`: the oldest conversations are mirrored until their main paths
  hold that many, replacing `mirror_conversation_share` and `mirror_share`.
- `conversations.weekly_active_users`: distinct non-admin users starting a conversation in each of the last
  complete ISO weeks before the week holding as_of, oldest first; the conversations of those weeks start from
  sign-ins drawn until each week holds that many (seed/generate/weekly.py).
- `memories.count`: rows of `user_memories`, drawn among the users who chatted, replacing `memories.share`.
- `tokens.password_reset_users`: users holding an unused reset request, replacing `password_reset_share`.
- `sessions.live_rows`: rows of non-admin users the purged sessions table holds at as_of; the sign-outs (never
  visible once purged) are adjusted until it does.
- `sessions.stratified`: true draws each user's kind (one-time, loyal, churning), lifetime and weekly rate by
  stratified sampling, so the shares and distributions hold exactly rather than on average.
- `submissions.by_contributor_time`: true weighs each contributor's heavy-tailed share of the submissions by their
  time as a contributor, so a few promoted just before as_of do not take hundreds of (pending) submissions.
- `submissions.per_period`: submissions (any non-negative weights) per equal slice of the history, oldest first;
  each submission's slice is drawn from them, then its contributor among those who could submit then.
- `[[submissions.reviewers]]`: reviewers ranked by volume, each `{share, latency_hours = [[p, hours], …]}`:
  its share of the reviews and quantiles of its time to review (weekends and freezes included).
"""

from __future__ import annotations

from typing import Any

from .errors import ProfileError

KEYS = (
    "users.signups_per_period",
    "conversations.length_weights",
    "conversations.mirror_conversation_share",
    "submissions.reviewers",
    "sessions.stratified",
    "conversations.weekly_active_users",
    "submissions.by_contributor_time",
    "submissions.per_period",
    "conversations.mirror_rows",
    "memories.count",
    "tokens.password_reset_users",
    "sessions.live_rows",
)
MAX_WEEKS = 520  # weekly counts a profile may hold (ten years)


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x == x and x not in (float("inf"), float("-inf"))


def _fail(where: str, key: str, want: str) -> ProfileError:
    return ProfileError(f"Profile {where}: key {key!r} must be {want}; fix it in the profile file.")


def _weights(where: str, key: str, value: Any) -> list[float]:
    if not isinstance(value, list) or not value or not all(_number(v) and v >= 0 for v in value) or sum(value) <= 0:
        raise _fail(where, key, "a non-empty list of non-negative numbers, not all 0")
    return [float(v) for v in value]


def _pairs(where: str, key: str, value: Any, want: str) -> list[tuple[float, float]]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(p, list) and len(p) == 2 and _number(p[0]) and _number(p[1]) and p[1] >= 0 for p in value)
    ):
        raise _fail(where, key, want)
    return [(float(a), float(b)) for a, b in value]


def _lengths(where: str, key: str, value: Any) -> list[tuple[int, float]]:
    want = (
        "a non-empty list of [messages ≥ 1, weight ≥ 0] pairs with distinct whole lengths and a positive total weight"
    )
    pairs = _pairs(where, key, value, want)
    lengths = [a for a, _ in pairs]
    if (
        any(a < 1 or not float(a).is_integer() for a in lengths)
        or len(set(lengths)) != len(lengths)
        or sum(w for _, w in pairs) <= 0
    ):
        raise _fail(where, key, want)
    return sorted((int(a), w) for a, w in pairs)


def _reviewers(where: str, key: str, value: Any) -> list[dict[str, Any]]:
    want = (
        "a list of tables {share = …, latency_hours = [[p, hours], …]} with shares ≥ 0 (not all 0) and "
        "probabilities in [0, 1], increasing, with hours not decreasing"
    )
    if not isinstance(value, list) or not value or not all(isinstance(r, dict) for r in value):
        raise _fail(where, key, want)
    out = []
    for r in value:
        if set(r) != {"share", "latency_hours"} or not _number(r["share"]) or r["share"] < 0:
            raise _fail(where, key, want)
        q = _pairs(where, key, r["latency_hours"], want)
        probs, hours = [p for p, _ in q], [h for _, h in q]
        if (
            any(not 0 <= p <= 1 for p in probs)
            or any(b <= a for a, b in zip(probs, probs[1:]))
            or any(b < a for a, b in zip(hours, hours[1:]))
        ):
            raise _fail(where, key, want)
        out.append({"share": float(r["share"]), "latency_hours": q})
    if sum(r["share"] for r in out) <= 0:
        raise _fail(where, key, want)
    return out


def _counts(where: str, key: str, value: Any) -> list[int]:
    want = f"a non-empty list of at most {MAX_WEEKS} whole numbers ≥ 0"
    if (
        not isinstance(value, list)
        or not 0 < len(value) <= MAX_WEEKS
        or not all(_number(v) and v >= 0 and float(v).is_integer() for v in value)
    ):
        raise _fail(where, key, want)
    return [int(v) for v in value]


def _count(where: str, key: str, value: Any) -> int:
    if not _number(value) or value < 0 or not float(value).is_integer():
        raise _fail(where, key, "a whole number ≥ 0")
    return int(value)


def _share(where: str, key: str, value: Any) -> float:
    if not _number(value) or not 0 <= value <= 1:
        raise _fail(where, key, "a share between 0 and 1")
    return float(value)


def _flag(where: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(where, key, "true or false")
    return value


_CHECKS = {
    "sessions.live_rows": _count,
    "tokens.password_reset_users": _count,
    "memories.count": _count,
    "conversations.mirror_rows": _count,
    "conversations.weekly_active_users": _counts,
    "sessions.stratified": _flag,
    "submissions.by_contributor_time": _flag,
    "conversations.mirror_conversation_share": _share,
    "users.signups_per_period": _weights,
    "submissions.per_period": _weights,
    "conversations.length_weights": _lengths,
    "submissions.reviewers": _reviewers,
}


def check(where: str, flat: dict[str, Any]) -> dict[str, Any]:
    """The validated optional distributions found in a flattened profile (popped from `flat`)."""
    return {key: _CHECKS[key](where, key, flat.pop(key)) for key in KEYS if key in flat}
