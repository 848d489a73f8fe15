"""A seeding profile estimated from a database's aggregates, privately: `calibrate(url) -> TOML text`."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError, NotMigrated
from ..snapshots import retry_once
from . import activity, chat, knowledge, people, release, render, snapshot
from .entries import Entries
from .frame import read_frame

__all__ = ["calibrate", "check_output", "write_profile"]

_NEEDS = ("users", "accounts", "verification_tokens", "password_reset_tokens")


def _check(min_count: int, epsilon: float | None) -> None:
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise ConfigError(f"--min-count must be a whole number ≥ 1 (the smallest count released), not {min_count!r}.")
    if epsilon is not None and not (isinstance(epsilon, (int, float)) and epsilon > 0 and epsilon != float("inf")):
        raise ConfigError(f"--epsilon must be a positive number (the total privacy budget), not {epsilon!r}.")


def _demo() -> dict:
    from seed import profile

    return dict(profile.load("demo"))


def calibrate(url: str | None = None, *, min_count: int = 10, epsilon: float | None = None) -> str:
    """The text of a profile estimated, in one read-only snapshot, from the database at `url` (read again, once, in a
    new snapshot when a hot standby cancels the read: nothing is released before the end)."""
    _check(min_count, epsilon)
    return retry_once(lambda: _calibrate(url, min_count, epsilon))


def _calibrate(url: str | None, min_count: int, epsilon: float | None) -> str:
    with snapshot.snapshot(url) as conn:
        schema = snapshot.read_schema(conn)
        missing = [t for t in _NEEDS if t not in schema.columns]
        if missing:
            raise NotMigrated(
                f"The database holds no OpenTier tables ({', '.join(missing)} missing): point "
                "--database-url at an OpenTier database."
            )
        frame = read_frame(conn, schema, release.DP_ROW_CAP if epsilon is not None else None)
        if frame is None:
            raise NotMigrated(
                "The database holds no users to calibrate from: point --database-url at a database with data."
            )
        stats = {}
        for concern in (people, activity, chat, knowledge):
            stats.update(concern.measure(conn, schema, frame))
        parts = len(stats) + ("subs.ranks" in stats)  # the latency histograms are released in a second step
        rel = release.release(stats, min_count=min_count, epsilon=epsilon, parts=parts)
        out = Entries(rel, _demo())
        groups = knowledge.rank_groups(out) if rel.has("subs.ranks") else []
        latency = None
        if groups:
            lat = release.release(
                {"subs.latency": knowledge.measure_latency(conn, frame, groups)},
                min_count=min_count,
                epsilon=epsilon,
                parts=parts,
            )
            latency = lat.vector("subs.latency")
    people.estimate(out, schema)
    activity.estimate(out, frame)
    chat.estimate(out)
    knowledge.estimate(out, latency, groups)
    _complete(out)
    return render.render(out, frame.as_of, frame.history_days)


def _complete(out: Entries) -> None:
    """Every key the profile format requires: any the estimators did not set is the demo profile's value."""
    from seed.profile import SPEC

    for key in SPEC:
        if key not in out.items and key != "history_days":
            out.fallback(key, "missing", "not estimated from this database")


def check_output(path: str | Path) -> Path:
    """The output path, refused in one sentence unless its folder exists and is writable (checked before reading)."""
    import os

    target = Path(path).expanduser()
    folder = target.parent
    if (
        target.is_dir()
        or not folder.is_dir()
        or not os.access(folder, os.W_OK)
        or (target.exists() and not os.access(target, os.W_OK))
    ):
        raise ConfigError(f"Cannot write the profile to {str(target)!r}: choose a writable --output file path.")
    return target


def write_profile(path: str | Path, text: str) -> Path:
    """Write the profile text to `path`; one-sentence ConfigError when the path cannot be written."""
    target = Path(path).expanduser()
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"Cannot write the profile to {str(target)!r} ({exc.strerror or type(exc).__name__}): "
            "choose a writable --output path."
        ) from None
    return target
