"""COPY data (text format; binary for typed tables) and the keys, indexes and foreign keys dropped before a load
and recreated after it.

Everything runs inside the caller's transaction: dropped indexes and constraints come back under the same
names and definitions before it commits, and a failure rolls all of it back.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

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


_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
_BINARY_TRAILER = b"\xff\xff"
_PG_EPOCH_US = 946_684_800 * 1_000_000  # 2000-01-01 UTC, PostgreSQL's timestamp origin
_NULL = b"\xff\xff\xff\xff"
_ENCODE = {
    "uuid": lambda v: bytes.fromhex(v.replace("-", "")),
    "text": lambda v: v.encode("utf-8"),
    "int4": lambda v: struct.pack(">i", v),
    "jsonb": lambda v: b"\x01" + v.encode("utf-8"),
    "timestamptz": lambda v: struct.pack(">q", v - _PG_EPOCH_US),
    "vector": lambda v: v,
}


def copy_binary(table: Table, start: int = 0, stop: int | None = None) -> bytes:
    """Rows [start, stop) of a typed table as COPY binary tuples (no header or trailer)."""
    assert table.types is not None
    encoders = [_ENCODE[t] for t in table.types]
    count = struct.pack(">h", len(table.columns))
    out = []
    for row in zip(*(c[start:stop] for c in table.data)):
        out.append(count)
        for enc, v in zip(encoders, row):
            if v is None:
                out.append(_NULL)
            else:
                b = enc(v)
                out.append(struct.pack(">i", len(b)))
                out.append(b)
    return b"".join(out)


def copy_sql(table: Table) -> str:
    """The COPY ... FROM STDIN statement for a table (binary format for a typed one)."""
    cols = ", ".join(f'"{c}"' for c in table.columns)
    fmt = " (FORMAT binary)" if table.types else ""
    return f'COPY "{table.name}" ({cols}) FROM STDIN{fmt}'


def chunks(table: Table, rows: int = _CHUNK_ROWS) -> Iterator[tuple[int, str | bytes]]:
    """(row count, COPY data) pieces of a table: text, or binary with its header and trailer."""
    if table.types:
        yield 0, _BINARY_HEADER
    for start in range(0, len(table), rows):
        stop = min(start + rows, len(table))
        yield stop - start, copy_binary(table, start, stop) if table.types else copy_text(table, start, stop)
    if table.types:
        yield 0, _BINARY_TRAILER


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
