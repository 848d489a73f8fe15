"""The time frame of the source (its `as_of`, rounded up to a day, and its history) and the shared SQL helpers."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .release import Stat
from .snapshot import Schema

if TYPE_CHECKING:
    import psycopg

_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Frame:
    """`as_of` (the first midnight at or after the latest activity), `latest` (never released), the history and the row cap."""

    as_of: dt.datetime
    latest: dt.datetime
    history_days: int
    cap: int | None  # rows one user may contribute to a per-row statistic (None: no bound, no noise)

    @property
    def start(self) -> dt.datetime:
        return self.as_of - self.history_days * _DAY

    @property
    def weeks_end(self) -> dt.datetime:
        """Monday 00:00 UTC of the ISO week holding `latest`: the end of the last complete week (fidelity's weeks)."""
        day = self.latest.astimezone(dt.UTC).date()
        return dt.datetime.combine(day - dt.timedelta(days=day.weekday()), dt.time(), dt.UTC)

    def params(self, **extra: Any) -> dict[str, Any]:
        """SQL parameters every query may use."""
        return {"as_of": self.as_of, "latest": self.latest, "start": self.start, "weeks_end": self.weeks_end, **extra}


def capped(table: str, owner: str, cap: int | None, order: str = "created_at") -> str:
    """SQL for `table`, keeping at most `cap` rows per `owner` (the earliest) when a cap is set."""
    if cap is None:
        return table
    return (
        f"(SELECT * FROM (SELECT t.*, row_number() OVER (PARTITION BY t.{owner} ORDER BY t.{order}) AS _rn "
        f"FROM {table} t) _c WHERE _rn <= {int(cap)})"
    )


def row(conn: psycopg.Connection, sql: str, params: dict[str, Any]) -> tuple[float, ...]:
    """The single row of an aggregate query, NULLs as 0."""
    got = conn.execute(sql, params).fetchone()
    return tuple(float(v or 0) for v in got)


def histogram(conn: psycopg.Connection, sql: str, params: dict[str, Any], cells: int) -> tuple[float, ...]:
    """Counts per cell 1..cells of a `SELECT cell, count` query (other cells dropped)."""
    return binned(conn.execute(sql, params).fetchall(), cells)


def binned(rows: Iterable[tuple[Any, Any]], cells: int) -> tuple[float, ...]:
    """Counts per cell 1..cells of (cell, count) rows (other cells dropped, a NULL count as 0)."""
    out = [0.0] * cells
    for cell, n in rows:
        if cell is not None and 1 <= int(cell) <= cells:
            out[int(cell) - 1] += float(n or 0)
    return tuple(out)


def stat(values: tuple[float, ...], sensitivity: float) -> Stat:
    return Stat(values, sensitivity)


def midnight_at_or_after(latest: dt.datetime) -> dt.datetime:
    """The first midnight (UTC) at or after `latest`: the source's `as_of`."""
    # Generators (the kit's too) clamp their latest events to as_of itself: a day more would put a whole extra day
    # into the twin's last, partial week (boom: 186 weekly actives against the source's 99).
    midnight = dt.datetime.combine(latest.astimezone(dt.UTC).date(), dt.time(), dt.UTC)
    return midnight if midnight == latest else midnight + _DAY


def read_frame(conn: psycopg.Connection, schema: Schema, cap: int | None) -> Frame | None:
    """The source's frame, or None when it holds no users."""
    parts = ["SELECT max(created_at) AS t, min(created_at) AS f FROM users"]
    for table in ("sessions", "chat_messages", "conversations", "knowledge_submissions"):
        if schema.has(table, "created_at"):
            parts.append(f"SELECT max(created_at), NULL FROM {table}")
    latest, first = conn.execute(f"SELECT max(t), min(f) FROM ({' UNION ALL '.join(parts)}) x").fetchone()
    if latest is None or first is None:
        return None
    latest, first = latest.astimezone(dt.UTC), first.astimezone(dt.UTC)
    as_of = midnight_at_or_after(latest)
    days = max(14, min(3650, math.ceil((as_of - first) / _DAY)))
    return Frame(as_of, latest, days, cap)
