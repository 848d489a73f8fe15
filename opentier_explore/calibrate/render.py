"""The calibrated profile as TOML text: a header on privacy and fallbacks, each value with what it came from."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from .entries import DATA, MISSING, SUPPRESSED, UNUSED, Entries

_ORDER = (
    "users",
    "sessions",
    "tokens",
    "conversations",
    "faults",
    "documents",
    "ingestion_jobs",
    "memories",
    "submissions",
)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(round(v, 6))
    if isinstance(v, (int, str)):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to a profile")


def _privacy(out: Entries) -> list[str]:
    rel = out.rel
    lines = [
        "# Privacy: every value is an aggregate computed inside PostgreSQL; no row, identifier, e-mail, name,",
        f"# title, content, token or address was read out. Any count or cell below K = {rel.min_count} is",
        "# suppressed (the demo value is used) or merged with its neighbours; reviewers are ranked, never named.",
    ]
    if rel.epsilon is None:
        lines.append("# Mode: aggregates only, small counts suppressed, no differential privacy.")
    else:
        lines += [
            f"# Mode: differential privacy, epsilon = {rel.epsilon:g} in total (OpenDP discrete Laplace noise",
            "# on every released count, the budget split evenly over the statistics); each user contributes at",
            "# most one row to per-user counts and at most the row cap to per-row counts. The noise is drawn",
            "# afresh on every run. as_of and history_days are the latest activity's day, rounded, not noised.",
        ]
    return lines


def _listing(out: Entries, origin: str, title: str) -> list[str]:
    keys = [e.key for e in out.items.values() if e.origin == origin]
    if not keys:
        return []
    lines, line = [f"# {title}:"], "#  "
    for key in keys:
        if len(line) + len(key) > 110:
            lines.append(line)
            line = "#  "
        line += f" {key}"
    return lines + [line]


def render(out: Entries, frame_as_of: dt.datetime, history_days: int) -> str:
    """The profile's TOML text."""
    lines = [
        "# Profile calibrated by `opentier-explore calibrate` from a database's aggregates.",
        "# Seed a twin: opentier-explore seed --profile THIS_FILE.toml",
        *_privacy(out),
        *_listing(out, MISSING, "Not in this database's generation or not estimated (the demo profile's values)"),
        *_listing(out, SUPPRESSED, "Suppressed, fewer than K behind them (the demo profile's values)"),
        *_listing(out, UNUSED, "Superseded by an empirical distribution (the demo profile's values, unused)"),
        'name = "calibrated"',
        f"as_of = {frame_as_of.strftime('%Y-%m-%dT%H:%M:%SZ')}    # the first midnight at or after the latest activity",
        f"history_days = {history_days}    # as_of − the first sign-up, in whole days",
        "",
    ]
    sections: dict[str, list] = {}
    for e in out.items.values():
        if e.value is None:
            continue
        section, _, key = e.key.partition(".")
        sections.setdefault(section, []).append((key, e))
    for section in _ORDER:
        plain = [
            (k, e)
            for k, e in sections.get(section, [])
            if not (isinstance(e.value, list) and e.value and isinstance(e.value[0], dict))
        ]
        tables = [(k, e) for k, e in sections.get(section, []) if (k, e) not in plain]
        lines.append(f"[{section}]")
        for key, e in plain:
            tag = "" if e.origin == DATA else f" [{e.origin}: demo value]"
            lines.append(f"{key} = {_value(e.value)}    # {e.note}{tag}")
        for key, e in tables:
            lines.append(f"# {key}: {e.note}")
            for item in e.value:
                lines.append(f"[[{section}.{key}]]")
                lines += [f"{k} = {_value(v)}" for k, v in item.items()]
        lines.append("")
    return "\n".join(lines)
