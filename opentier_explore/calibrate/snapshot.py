"""One consistent, read-only view of the source database, and what its schema generation holds."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from .. import db
from ..snapshots import SessionLost

if TYPE_CHECKING:
    import psycopg

T = TypeVar("T")
#: the URL each open snapshot connection was made from, for at_once's further connections (never shown)
_URLS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@contextmanager
def snapshot(url: str | None = None) -> Iterator[psycopg.Connection]:
    """A connection inside one REPEATABLE READ READ ONLY transaction (rolled back on exit): every query sees
    the same snapshot. Swappable for the kit's public snapshot API."""
    import psycopg

    conn = db.raw_connect(url, read_only=True)
    try:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        _URLS[conn] = url
        with _ended_when_lost(conn):
            yield conn
    finally:
        _end(conn)


def at_once(conn: psycopg.Connection, jobs: Sequence[Callable[[psycopg.Connection], T]]) -> list[T]:
    """What each job returns, the jobs run at once, each on a connection of its own that sees `conn`'s snapshot
    (one recursive walk runs in one server process: this is how calibration uses more than one core)."""
    import psycopg

    snapshot_id = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]

    def run(job: Callable[[psycopg.Connection], T]) -> T:
        with db.connection(_URLS[conn], read_only=True) as other:
            try:
                with _ended_when_lost(other):
                    other.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                    other.read_only = True
                    try:
                        other.execute(f"SET TRANSACTION SNAPSHOT '{snapshot_id}'")  # no parameters; the server named it
                    except psycopg.Error:
                        conn.execute("SELECT 1")  # the snapshot ends with `conn`'s session: its own error says why
                        raise
                    return job(other)
            finally:
                _end(other)

    with ThreadPoolExecutor(len(jobs)) as pool:  # the driver waits for the server without the GIL
        return list(pool.map(run, jobs))


@contextmanager
def _ended_when_lost(conn: psycopg.Connection) -> Iterator[None]:
    """Driver errors that left `conn` closed, raised as SessionLost (for retry_once: the server ended the session)."""
    import psycopg

    try:
        yield
    except psycopg.Error as exc:
        if conn.closed or conn.broken:
            raise SessionLost(db.driver_message(exc)) from exc
        raise


def _end(conn: psycopg.Connection) -> None:
    """Roll back `conn`'s transaction (unless the server ended the session) and close it."""
    import psycopg

    try:
        if not (conn.closed or conn.broken):
            conn.rollback()
    except psycopg.OperationalError:
        pass  # a hot standby ended the session before the ROLLBACK arrived: closing discards the transaction
    finally:
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
