"""The load itself: the generator process's COPY data relayed into PostgreSQL table by table, each table's keys and
indexes rebuilt (and the table analyzed) right after its COPY while the generator runs ahead."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from psycopg.copy import QueuedLibpqWriter

from .source import Source

if TYPE_CHECKING:
    import psycopg


def _bar(enabled: bool, total: int, desc: str, unit: str):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=f"{desc:<22}", unit=unit, unit_scale=unit == " rows", leave=True, file=sys.stderr)


def load(
    conn: psycopg.Connection, source: Source, then: dict[str, list[str]], progress: bool, check: Callable[[], None]
) -> dict[str, int]:
    """COPY every table the source sends, then run `then[table]` (its indexes, ANALYZE); rows per table.

    `check()` runs before every piece and statement: it raises a pending Ctrl-C where no lock is held.
    """
    counts: dict[str, int] = {}
    for name, sql, rows, pieces in source.tables():
        bar = _bar(progress, rows, name, " rows")
        try:
            # The queued writer sends on its own thread: the next piece is read while PostgreSQL parses this one.
            with conn.cursor() as cur, cur.copy(frozen(sql), writer=QueuedLibpqWriter(cur)) as cp:
                for n, data in pieces:
                    check()
                    cp.write(data)
                    if bar is not None:
                        bar.update(n)
            if bar is not None and then.get(name):
                bar.set_postfix_str("indexing")
            for statement in then.get(name, []):
                check()
                conn.execute(statement)
            if bar is not None and then.get(name):
                bar.set_postfix_str("indexed")
        finally:
            if bar is not None:
                bar.close()
        counts[name] = rows
    return counts


def frozen(sql: str) -> str:
    """The generator's `COPY … FROM STDIN [(FORMAT binary)]` with FREEZE: its rows frozen, its pages all-visible.

    Legal because the seeding transaction truncated the table first. Readers then skip the visibility checks and
    index-only scans skip the table, as on a vacuumed database; `writer` VACUUMs the few pages FREEZE leaves unmarked.
    """
    return sql[:-1] + ", FREEZE)" if sql.endswith(")") else sql + " (FREEZE)"


def execute(
    conn: psycopg.Connection, statements: list[str], label: str, progress: bool, check: Callable[[], None]
) -> None:
    """Run SQL statements under one progress bar named `label`, `check()` before each."""
    if not statements:
        return
    bar = _bar(progress, len(statements), label, " keys")
    try:
        for statement in statements:
            check()
            conn.execute(statement)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
