"""Seeding profiles: TOML files of sizes, the fixed `as_of` and distribution parameters, validated key by key."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Any

from . import distributions
from .errors import ProfileError

PROFILES_DIR = Path(__file__).resolve().parent / "profiles"

# key -> (kind, low, high); kinds: int, float (a number), share (a number in [0, 1]), bool (true or false).
# Bounds are inclusive; None means unbounded.
SPEC: dict[str, tuple[str, float | None, float | None]] = {
    "history_days": ("int", 14, 3650),
    "users.count": ("int", 0, None),
    "users.growth": ("float", 0.01, 1000),
    "users.admins": ("int", 0, None),
    "users.contributor_share": ("share", None, None),
    "users.recent_promotions": ("int", 0, None),
    "users.oauth_only_share": ("share", None, None),
    "users.oauth_both_share": ("share", None, None),
    "users.password_linked_share": ("share", None, None),
    "users.unverified_share": ("share", None, None),
    "users.deleted_share": ("share", None, None),
    "users.no_name_share": ("share", None, None),
    "users.no_username_share": ("share", None, None),
    "sessions.one_time_share": ("share", None, None),
    "sessions.loyal_share": ("share", None, None),
    "sessions.mean_lifetime_days": ("float", 0.1, None),
    "sessions.weekly_rate_median": ("float", 0.0, None),
    "sessions.weekly_rate_sigma": ("float", 0.0, 5.0),
    "sessions.max_per_user": ("int", 1, None),
    "sessions.ttl_days": ("float", 0.0, None),
    "sessions.signout_share": ("share", None, None),
    "sessions.refresh_share": ("share", None, None),
    "sessions.password_change_share": ("share", None, None),
    "sessions.keep_history": ("bool", None, None),
    "tokens.password_reset_share": ("share", None, None),
    "tokens.live_password_resets": ("int", 0, None),
    "conversations.count": ("int", 0, None),
    "conversations.orphan_share": ("share", None, None),
    "conversations.long_share": ("share", None, None),
    "conversations.short_mean_turns": ("float", 1.0, None),
    "conversations.long_mean_turns": ("float", 1.0, None),
    "conversations.max_depth": ("int", 2, 1000),
    "conversations.unanswered_share": ("share", None, None),
    "conversations.regenerate_prob": ("share", None, None),
    "conversations.edit_prob": ("share", None, None),
    "conversations.sources_share": ("share", None, None),
    "conversations.mirror_share": ("share", None, None),
    "conversations.untitled_share": ("share", None, None),
    "faults.cross_conversation_parents": ("int", 0, None),
    "faults.cycles": ("int", 0, None),
    "documents.count": ("int", 0, None),
    "documents.initial_share": ("share", None, None),
    "documents.mean_chunks": ("float", 1.0, None),
    "documents.null_embedding_share": ("share", None, None),
    "documents.global_share": ("share", None, None),
    "documents.topics": ("int", 1, None),
    "ingestion_jobs.failed_share": ("share", None, None),
    "ingestion_jobs.partial": ("int", 0, None),
    "ingestion_jobs.processing": ("int", 0, None),
    "ingestion_jobs.queued": ("int", 0, None),
    "memories.share": ("share", None, None),
    "submissions.count": ("int", 0, None),
    "submissions.median_review_hours": ("float", 0.0, None),
    "submissions.review_sigma": ("float", 0.0, 5.0),
    "submissions.slow_reviewer_factor": ("float", 1.0, None),
    "submissions.weekend_pause_share": ("share", None, None),
    "submissions.backlog_start_days": ("float", 0.0, None),
    "submissions.backlog_days": ("float", 0.0, None),
    "submissions.backlog_drain_days": ("float", 0.0, None),
    "submissions.rejected_share": ("share", None, None),
    "submissions.approved_feedback_share": ("share", None, None),
}


#: Upper bound of the counts left unbounded above: far beyond any machine's memory, yet within numpy's sizes
#: (a larger value would fail deep inside the generator instead of naming its key).
MAX_COUNT = 1_000_000_000


def _num(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


class Profile(dict):
    """A validated profile: flat `section.key` → value, plus `name`, `as_of` (UTC datetime) and `source`."""

    @property
    def name(self) -> str:
        return str(self["name"])

    @property
    def as_of(self) -> dt.datetime:
        return self["as_of"]


def builtin_names() -> list[str]:
    """The profiles shipped with the kit."""
    return sorted(p.stem for p in PROFILES_DIR.glob("*.toml"))


def resolve(name_or_path: str) -> Path:
    """The file of a built-in profile name, or a user's profile path; ProfileError if neither exists."""
    builtin = PROFILES_DIR / f"{name_or_path}.toml"
    if "/" not in name_or_path and "\\" not in name_or_path and not name_or_path.endswith(".toml"):
        if builtin.is_file():
            return builtin
        raise ProfileError(
            f"Unknown profile {name_or_path!r}: use one of {', '.join(builtin_names())} or a path to a profile .toml file."
        )
    path = Path(name_or_path).expanduser()
    if not path.is_file():
        raise ProfileError(
            f"Profile file {str(path)!r} does not exist: copy one of seed/profiles/*.toml and point --profile at it."
        )
    return path


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, full + "."))
        else:
            flat[full] = value
    return flat


def _check(where: str, key: str, value: Any) -> Any:
    kind, low, high = SPEC[key]
    if kind == "bool":
        if not isinstance(value, bool):
            raise ProfileError(
                f"Profile {where}: key {key!r} must be true or false, not {value!r}; fix it in the profile file."
            )
        return value
    if kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
        want = "an integer"
        high = MAX_COUNT if high is None else high
    else:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
        want = "a number"
        if ok:
            value = float(value)
    if kind == "share":
        low, high, want = 0.0, 1.0, "a share between 0 and 1"
    if ok and low is not None and value < low:
        ok = False
    if ok and high is not None and value > high:
        ok = False
    if not ok:
        bounds = ""
        if kind != "share":
            if low is not None and high is not None:
                bounds = f" between {_num(low)} and {_num(high)}"
            elif low is not None:
                bounds = f" ≥ {_num(low)}"
        raise ProfileError(
            f"Profile {where}: key {key!r} must be {want}{bounds}, not {value!r}; fix it in the profile file."
        )
    return value


def parse(text: str, where: str = "<text>") -> Profile:
    """Validate a profile's TOML text; ProfileError names the first bad, missing or unknown key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"Profile {where} is not valid TOML ({exc}); fix the file.") from None
    flat = _flatten(data)
    out = Profile(source=where)
    name = flat.pop("name", None)
    if not isinstance(name, str) or not name.strip():
        raise ProfileError(f"Profile {where}: key 'name' must be a non-empty string; fix it in the profile file.")
    out["name"] = name.strip()
    as_of = flat.pop("as_of", None)
    if not isinstance(as_of, dt.datetime) or as_of.tzinfo is None:
        raise ProfileError(
            f"Profile {where}: key 'as_of' must be a TOML date-time with a time zone, e.g. 2026-06-30T00:00:00Z; fix it in the profile file."
        )
    out["as_of"] = as_of.astimezone(dt.UTC)
    out.update(distributions.check(where, flat))
    for key in flat:
        if key not in SPEC:
            raise ProfileError(f"Profile {where}: unknown key {key!r}; remove it or fix its spelling.")
    for key in SPEC:
        if key not in flat:
            raise ProfileError(f"Profile {where}: key {key!r} is missing; copy it from one of seed/profiles/*.toml.")
        out[key] = _check(where, key, flat[key])
    if out["users.count"] > 0 and out["users.admins"] < 1:
        raise ProfileError(
            f"Profile {where}: key 'users.admins' must be ≥ 1 when there are users (admins review submissions)."
        )
    if out["users.admins"] > out["users.count"]:
        raise ProfileError(
            f"Profile {where}: key 'users.admins' must not exceed 'users.count'; fix it in the profile file."
        )
    if out["sessions.one_time_share"] + out["sessions.loyal_share"] > 1:
        raise ProfileError(
            f"Profile {where}: keys 'sessions.one_time_share' and 'sessions.loyal_share' must add up to at most 1; fix them."
        )
    return out


def load(name_or_path: str) -> Profile:
    """The validated profile named `tiny`/`demo`/`large`/`huge`, or read from a path."""
    path = resolve(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ProfileError(
            f"Profile file {str(path)!r} is not UTF-8 text: point --profile at a TOML profile file."
        ) from None
    except OSError as exc:
        raise ProfileError(
            f"Cannot read profile file {str(path)!r} ({exc.__class__.__name__}); check its permissions."
        ) from None
    where = path.stem if path.parent == PROFILES_DIR else repr(str(path))
    return parse(text, where)
