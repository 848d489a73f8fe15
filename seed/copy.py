"""Bulk loading with COPY (text format), with the tables' secondary indexes and foreign keys rebuilt after the load.

Everything runs inside the caller's transaction: dropped indexes and constraints come back under the same
names and definitions before it commits, and a failure rolls all of it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Iterator

from .generate.common import Table

if TYPE_CHECKING:
    import psycopg

_CHUNK_ROWS = 20_000


@dataclass(frozen=True)
class Rebuild:
    """An index or constraint dropped before the load and recreated after it."""

    kind: str  # "index", "key" (primary key / unique) or "fk"
    table: str
    name: str
    definition: str

    def drop_sql(self) -> str:
        if self.kind == "index":
            return f'DROP INDEX "{self.name}"'
        return f'ALTER TABLE "{self.table}" DROP CONSTRAINT "{self.name}"'

    def create_sql(self) -> str:
        if self.kind == "index":
            return self.definition
        return f'ALTER TABLE "{self.table}" ADD CONSTRAINT "{self.name}" {self.definition}'


def copy_text(table: Table, start: int = 0, stop: int | None = None) -> str:
    """Rows [start, stop) of a table in COPY text format."""
    cols = [c[start:stop] for c in table.data]
    cols = [[r"\N" if v is None else v for v in c] if any(v is None for v in c) else c for c in cols]
    return "".join(line + "\n" for line in map("\t".join, zip(*cols)))


def chunks(table: Table, rows: int = _CHUNK_ROWS) -> Iterator[tuple[int, str]]:
    """(row count, COPY text) pieces of a table."""
    for start in range(0, len(table), rows):
        stop = min(start + rows, len(table))
        yield stop - start, copy_text(table, start, stop)


def rebuildable(conn: "psycopg.Connection", tables: Iterable[str]) -> list[Rebuild]:
    """The foreign keys, keys and secondary indexes of `tables`, in the order to recreate them."""
    names = list(tables)
    fks = conn.execute(
        """SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
             FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid = ANY(%s::regclass[])
             ORDER BY 1, 2""", (names,)).fetchall()
    keys = conn.execute(
        """SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
             FROM pg_constraint c WHERE c.contype IN ('p', 'u') AND c.conrelid = ANY(%s::regclass[])
             ORDER BY 1, 2""", (names,)).fetchall()
    idx = conn.execute(
        """SELECT i.indrelid::regclass::text, ic.relname, pg_get_indexdef(i.indexrelid)
             FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
            WHERE i.indrelid = ANY(%s::regclass[])
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)
            ORDER BY 1, 2""", (names,)).fetchall()
    return ([Rebuild("key", t, n, d) for t, n, d in keys] + [Rebuild("index", t, n, d) for t, n, d in idx]
            + [Rebuild("fk", t, n, d) for t, n, d in fks])


def drop(conn: "psycopg.Connection", items: list[Rebuild]) -> None:
    """Drop foreign keys first, then indexes and keys."""
    for item in sorted(items, key=lambda r: r.kind != "fk"):
        conn.execute(item.drop_sql())


def recreate(conn: "psycopg.Connection", items: list[Rebuild], progress=None) -> None:
    """Recreate keys, then indexes, then foreign keys (which validate against the new keys)."""
    for item in items:
        if progress is not None:
            progress.set_postfix_str(item.name, refresh=False)
        conn.execute(item.create_sql())
        if progress is not None:
            progress.update(1)


def copy_table(conn: "psycopg.Connection", table: Table, progress=None) -> int:
    """COPY a table's rows in; returns the row count."""
    cols = ", ".join(f'"{c}"' for c in table.columns)
    with conn.cursor() as cur, cur.copy(f'COPY "{table.name}" ({cols}) FROM STDIN') as cp:
        for n, text in chunks(table):
            cp.write(text)
            if progress is not None:
                progress.update(n)
    return len(table)
