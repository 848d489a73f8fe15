"""One consistent, read-only view of the source database, and what its schema generation holds."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import db

if TYPE_CHECKING:
    import psycopg


@contextmanager
def snapshot(url: str | None = None) -> Iterator[psycopg.Connection]:
    """A connection inside one REPEATABLE READ READ ONLY transaction (rolled back on exit): every query sees
    the same snapshot. Swappable for the kit's public snapshot API."""
    import psycopg

    conn = db.raw_connect(url, read_only=True)
    try:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        yield conn
    finally:
        conn.rollback()
        conn.close()


@dataclass(frozen=True)
class Schema:
    """The tables and columns of the source (its generation), and the labels of its user_role enum."""

    columns: dict[str, frozenset[str]]
    roles: tuple[str, ...]

    def has(self, table: str, *columns: str) -> bool:
        return table in self.columns and all(c in self.columns[table] for c in columns)


def read_schema(conn: psycopg.Connection) -> Schema:
    """The schema visible on the search path (tables, columns, user_role labels)."""
    rows = conn.execute(
        "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "WHERE c.relkind IN ('r', 'p', 'v', 'm') AND a.attnum > 0 AND NOT a.attisdropped "
        "AND pg_table_is_visible(c.oid)"
    ).fetchall()
    cols: dict[str, set[str]] = {}
    for table, column in rows:
        cols.setdefault(table, set()).add(column)
    roles = conn.execute(
        "SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid "
        "WHERE t.typname = 'user_role' AND pg_type_is_visible(t.oid) ORDER BY e.enumsortorder"
    ).fetchall()
    return Schema({t: frozenset(c) for t, c in cols.items()}, tuple(r[0] for r in roles))
