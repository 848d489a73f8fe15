"""The generator's tables as COPY data (text format; binary for typed tables), and their COPY statements."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from itertools import chain, repeat

from .generate.common import Table

_CHUNK_ROWS = 20_000


def copy_text(table: Table, start: int = 0, stop: int | None = None) -> str:
    """Rows [start, stop) of a table in COPY text format."""
    fields: list = []
    for column in table.data:
        values = column[start:stop]
        fields += ([r"\N" if v is None else v for v in values] if None in values else values, repeat("\t"))
    fields[-1] = repeat("\n")
    # every row's fields and separators, joined once (no per-row string is built)
    return "".join(chain.from_iterable(zip(*fields)))


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
