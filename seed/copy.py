"""The generator's tables as COPY data, and their COPY statements.

A table's values are COPY text (`chunks`: the canonical bytes the golden digest covers), or raw values of `types`
sent as binary COPY. A text table with `wire` types is *sent* as binary COPY (`wire_chunks`), its text values
converted on the way: PostgreSQL then skips parsing uuid and timestamptz text and COPY's escapes.
"""

from __future__ import annotations

import codecs
import re
import struct
from collections.abc import Iterator, Sequence
from itertools import chain, repeat

import numpy as np

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
_LENGTH = struct.Struct(">i").pack
_ENCODE = {
    "uuid": lambda v: bytes.fromhex(v.replace("-", "")),
    "text": lambda v: v.encode("utf-8"),
    "int4": lambda v: struct.pack(">i", v),
    "jsonb": lambda v: b"\x01" + v.encode("utf-8"),
    "timestamptz": lambda v: struct.pack(">q", v - _PG_EPOCH_US),
    "vector": lambda v: v,
}


def _tuples(columns: Sequence[Sequence[bytes | None]]) -> bytes:
    """Binary COPY tuples from each column's encoded field values (None for NULL)."""
    parts: list = [repeat(struct.pack(">h", len(columns)))]
    for values in columns:
        parts.append([_NULL if v is None else _LENGTH(len(v)) for v in values])
        parts.append([b"" if v is None else v for v in values])
    return b"".join(chain.from_iterable(zip(*parts)))


def copy_binary(table: Table, start: int = 0, stop: int | None = None) -> bytes:
    """Rows [start, stop) of a typed table as COPY binary tuples (no header or trailer)."""
    assert table.types is not None
    return _tuples(
        [[None if v is None else _ENCODE[t](v) for v in c[start:stop]] for t, c in zip(table.types, table.data)]
    )


_TEXT_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_TEXT_UNESCAPE = {"n": "\n", "r": "\r", "t": "\t"}


def _unescaped(values: Sequence[str | None], encoding: str) -> list[bytes | None]:
    """COPY-text values (escapes \\\\, \\n, \\r, \\t) as the raw bytes they stand for, in `encoding`."""
    if codecs.lookup(encoding).name == "utf-8":  # no UTF-8 sequence holds a backslash byte: decode the bytes
        raw = [None if v is None else v.encode("utf-8") for v in values]
        return [v if v is None or b"\\" not in v else codecs.escape_decode(v)[0] for v in raw]

    def one(m: re.Match) -> str:
        return _TEXT_UNESCAPE.get(m.group(1), m.group(1))

    return [None if v is None else (_TEXT_ESCAPE.sub(one, v) if "\\" in v else v).encode(encoding) for v in values]


def _uuid_fields(values: Sequence[str | None], encoding: str) -> list[bytes | None]:
    return [None if v is None else bytes.fromhex(v.replace("-", "")) for v in values]


def _jsonb_fields(values: Sequence[str | None], encoding: str) -> list[bytes | None]:
    return [None if v is None else b"\x01" + v for v in _unescaped(values, encoding)]


def _timestamptz_fields(values: Sequence[str | None], encoding: str) -> list[bytes | None]:
    """`ts` text ('…+00', UTC) as int64 µs since 2000-01-01."""
    present = [v is not None for v in values]
    us = np.array([v[:-3] if v is not None else "NaT" for v in values], dtype="datetime64[us]").astype(np.int64)
    packed = (us - _PG_EPOCH_US).astype(">i8").tobytes()
    return [packed[8 * i : 8 * i + 8] if p else None for i, p in enumerate(present)]


_FROM_TEXT = {"uuid": _uuid_fields, "text": _unescaped, "jsonb": _jsonb_fields, "timestamptz": _timestamptz_fields}


def wire_binary(table: Table, encoding: str, start: int = 0, stop: int | None = None) -> bytes:
    """Rows [start, stop) of a text table with `wire` types as COPY binary tuples (no header or trailer)."""
    assert table.wire is not None
    return _tuples([_FROM_TEXT[t](c[start:stop], encoding) for t, c in zip(table.wire, table.data)])


def copy_sql(table: Table) -> str:
    """The COPY ... FROM STDIN statement for a table as `wire_chunks` sends it (binary for a typed or wire one)."""
    cols = ", ".join(f'"{c}"' for c in table.columns)
    fmt = " (FORMAT binary)" if table.types or table.wire else ""
    return f'COPY "{table.name}" ({cols}) FROM STDIN{fmt}'


def chunks(table: Table, rows: int = _CHUNK_ROWS) -> Iterator[tuple[int, str | bytes]]:
    """(row count, COPY data) pieces of a table as generated: text, or binary with its header and trailer."""
    if table.types:
        yield 0, _BINARY_HEADER
    for start in range(0, len(table), rows):
        stop = min(start + rows, len(table))
        yield stop - start, copy_binary(table, start, stop) if table.types else copy_text(table, start, stop)
    if table.types:
        yield 0, _BINARY_TRAILER


def wire_chunks(table: Table, encoding: str, rows: int = _CHUNK_ROWS) -> Iterator[tuple[int, bytes]]:
    """(row count, bytes) pieces of a table as `copy_sql` loads it: text encoded in `encoding`, or binary."""
    if not table.wire:
        for n, data in chunks(table, rows):
            yield n, data.encode(encoding) if isinstance(data, str) else data
        return
    yield 0, _BINARY_HEADER
    for start in range(0, len(table), rows):
        stop = min(start + rows, len(table))
        yield stop - start, wire_binary(table, encoding, start, stop)
    yield 0, _BINARY_TRAILER
