"""The keys, indexes and foreign keys dropped before a load and recreated after it.

Everything runs inside the caller's transaction: dropped indexes and constraints come back under the same
names and definitions before it commits, and a failure rolls all of it back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg


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


def rebuildable(conn: psycopg.Connection, tables: Iterable[str]) -> list[Rebuild]:
    """The foreign keys, keys and secondary indexes of `tables`, in the order to recreate them."""
    names = list(tables)
    fks = conn.execute(
        """SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
             FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid = ANY(%s::regclass[])
             ORDER BY 1, 2""",
        (names,),
    ).fetchall()
    keys = conn.execute(
        """SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
             FROM pg_constraint c WHERE c.contype IN ('p', 'u') AND c.conrelid = ANY(%s::regclass[])
             ORDER BY 1, 2""",
        (names,),
    ).fetchall()
    idx = conn.execute(
        """SELECT i.indrelid::regclass::text, ic.relname, pg_get_indexdef(i.indexrelid)
             FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
            WHERE i.indrelid = ANY(%s::regclass[])
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)
            ORDER BY 1, 2""",
        (names,),
    ).fetchall()
    return (
        [Rebuild("key", t, n, d) for t, n, d in keys]
        + [Rebuild("index", t, n, d) for t, n, d in idx]
        + [Rebuild("fk", t, n, d) for t, n, d in fks]
    )


def drop(conn: psycopg.Connection, items: list[Rebuild]) -> None:
    """Drop foreign keys first, then indexes and keys."""
    for item in sorted(items, key=lambda r: r.kind != "fk"):
        conn.execute(item.drop_sql())
