"""The sqlx migration format: the folder's files, their checksums, sqlx's `_sqlx_migrations` ledger, its advisory
lock, and running one file.

The ledger, checksum, description rule and advisory lock are sqlx's (sqlx-postgres `migrate.rs`),
so the kit and the OpenTier services (`sqlx migrate run`) can share one database.
"""

from __future__ import annotations

import hashlib
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import config, db
from .errors import MigrationError

if TYPE_CHECKING:
    import psycopg

LEDGER = "_sqlx_migrations"
NO_TRANSACTION = b"-- no-transaction"
_LOCK_SALT = 0x3D32AD9E

CREATE_LEDGER = f"""
CREATE TABLE IF NOT EXISTS {LEDGER} (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
)"""


@dataclass(frozen=True)
class Migration:
    """One migration of the folder: its up file and, if reversible, its down file."""

    version: int
    description: str
    up_path: Path
    down_path: Path | None = None

    @property
    def checksum(self) -> bytes:
        """SHA-384 of the up file's exact bytes, as sqlx records it."""
        return hashlib.sha384(self.up_path.read_bytes()).digest()


@dataclass(frozen=True)
class Applied:
    """One row of the ledger."""

    version: int
    description: str
    success: bool
    checksum: bytes


def lock_id(database: str) -> int:
    """sqlx's advisory lock key: 0x3d32ad9e * crc32(database name), as a wrapping signed 64-bit integer."""
    product = (_LOCK_SALT * zlib.crc32(database.encode("utf-8"))) & 0xFFFF_FFFF_FFFF_FFFF
    return product - (1 << 64) if product >= 1 << 63 else product


def parse_filename(name: str) -> tuple[int, str, str] | None:
    """(version, description, kind 'up'|'down'|'simple') by sqlx's rule, or None for a file sqlx ignores."""
    head, sep, rest = name.partition("_")
    if not sep or not rest.endswith(".sql"):
        return None
    try:
        version = int(head)
    except ValueError:
        raise MigrationError(
            f"The migration file name {name!r} does not start with an integer version: rename it to VERSION_NAME.up.sql."
        ) from None
    for kind, suffix in (("up", ".up.sql"), ("down", ".down.sql"), ("simple", ".sql")):
        if rest.endswith(suffix):
            return version, rest[: -len(suffix)].replace("_", " "), kind
    raise AssertionError("unreachable: rest ends with .sql")


def discover(folder: Path | str | None = None) -> list[Migration]:
    """The folder's migrations, ordered by version."""
    folder = Path(folder) if folder is not None else config.migrations_dir()
    if not folder.is_dir():
        raise MigrationError(f"The migrations folder {folder} does not exist: run from the project or restore it.")
    ups: dict[int, tuple[str, Path]] = {}
    downs: dict[int, Path] = {}
    for path in sorted(folder.iterdir()):
        parsed = parse_filename(path.name) if path.is_file() else None
        if parsed is None:
            continue
        version, description, kind = parsed
        target: dict = downs if kind == "down" else ups
        if version in target:
            raise MigrationError(
                f"Two migration files in {folder} share version {version}: give each a unique version."
            )
        target[version] = path if kind == "down" else (description, path)
    orphans = sorted(set(downs) - set(ups))
    if orphans:
        raise MigrationError(
            f"The down file of version {orphans[0]} in {folder} has no up file: add it or remove the down file."
        )
    return [Migration(v, d, p, downs.get(v)) for v, (d, p) in sorted(ups.items())]


def not_allowed(conn: psycopg.Connection, exc: Exception, doing: str) -> MigrationError:
    """One sentence for a privilege the connection's user lacks (a read-only or application role, say)."""
    return MigrationError(
        f"The user {conn.info.user!r} may not {doing} in the database at {db.mask_url(db.display_url(conn))} "
        f"({db.driver_message(exc)}): connect as the database's owner or a user granted that privilege."
    )


def read_ledger(conn: psycopg.Connection) -> dict[int, Applied] | None:
    """The ledger's rows by version, or None when the ledger table does not exist."""
    import psycopg

    if conn.execute("SELECT to_regclass(%s)", (LEDGER,)).fetchone()[0] is None:
        return None
    try:
        rows = conn.execute(f"SELECT version, description, success, checksum FROM {LEDGER} ORDER BY version").fetchall()
    except psycopg.errors.InsufficientPrivilege as exc:
        raise not_allowed(conn, exc, f"read the migration ledger {LEDGER}") from None
    return {r[0]: Applied(r[0], r[1], r[2], bytes(r[3])) for r in rows}


def ensure_ledger(conn: psycopg.Connection) -> None:
    """Create the ledger table unless it exists (a user without CREATE may still use an existing one)."""
    import psycopg

    if conn.execute("SELECT to_regclass(%s)", (LEDGER,)).fetchone()[0] is not None:
        return
    try:
        conn.execute(CREATE_LEDGER)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise not_allowed(conn, exc, f"create the migration ledger {LEDGER}") from None
    except psycopg.errors.ReadOnlySqlTransaction:
        raise MigrationError(
            f"The database at {db.mask_url(db.display_url(conn))} is read-only (a standby, or default_transaction_read_only): "
            f"migrate on a writable server."
        ) from None


def check(applied: dict[int, Applied], migrations: list[Migration], folder: Path) -> None:
    """Refuse (MigrationError) when the ledger and the folder disagree, as sqlx does."""
    failed = [a.version for a in applied.values() if not a.success]
    if failed:
        raise MigrationError(
            f"The ledger {LEDGER} marks migration {failed[0]} as failed (success = false): "
            f"repair that migration's changes by hand, delete its ledger row, then migrate again."
        )
    known = {m.version: m for m in migrations}
    missing = [v for v in applied if v not in known]
    if missing:
        raise MigrationError(
            f"The database has migration {missing[0]} applied but {folder} lacks it: "
            f"use the migrations folder this database was migrated with."
        )
    for version in applied:
        if applied[version].checksum != known[version].checksum:
            raise MigrationError(
                f"Migration {version} was applied from a different file than {known[version].up_path.name}: "
                f"restore the file as it was when applied (migrations are never edited after being applied)."
            )


@contextmanager
def locked(url: str | None) -> Iterator[psycopg.Connection]:
    """An autocommit connection holding sqlx's migration advisory lock (waiting for it if taken)."""
    with db.connection(url, autocommit=True) as conn:
        key = lock_id(conn.execute("SELECT current_database()").fetchone()[0])
        conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        try:
            yield conn
        finally:
            _unlock(conn, key)


def _unlock(conn: psycopg.Connection, key: int) -> None:
    import psycopg

    try:
        conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
    except psycopg.Error:
        pass  # a broken connection has lost its session, and the lock with it


def folder_of(folder: Path | str | None) -> Path:
    """`folder`, else the project's migrations folder."""
    return Path(folder) if folder is not None else config.migrations_dir()


def check_known(version: int, migrations: list[Migration], folder: Path) -> None:
    """MigrationError unless `version` is 0 or one of the folder's."""
    if version != 0 and version not in {m.version for m in migrations}:
        raise MigrationError(f"Version {version} is not in {folder}: give one of the versions `migrate status` lists.")


# SQLSTATEs that mean the database, not the file, is at odds with the migration.
_DUPLICATE_OBJECT = {"42P07", "42710", "42723", "42P06", "42701", "42P04"}
_DEPENDENT_OBJECTS = "2BP01"
_INSUFFICIENT_PRIVILEGE = "42501"
_READ_ONLY = "25006"


def apply(conn: psycopg.Connection, m: Migration, *, reverting: bool, earlier: int = 0) -> None:
    """Run the up (or down) file and record it in (or delete it from) the ledger, in one transaction unless it opts out.

    `earlier` counts the migrations this run already applied (or reverted): a failure names them, as they stay.
    """
    import psycopg

    path = m.down_path if reverting else m.up_path
    assert path is not None  # down() refuses migrations without a down file first
    sql = path.read_bytes()
    in_transaction = not sql.startswith(NO_TRANSACTION)
    with conn.transaction() if in_transaction else nullcontext():
        start = time.perf_counter_ns()
        try:
            conn.execute(sql)
        except psycopg.Error as exc:
            raise _failure(
                conn, m, path, exc, in_transaction=in_transaction, reverting=reverting, earlier=earlier
            ) from None
        try:
            if reverting:
                conn.execute(f"DELETE FROM {LEDGER} WHERE version = %s", (m.version,))
            else:
                conn.execute(
                    f"INSERT INTO {LEDGER} (version, description, success, checksum, execution_time)"
                    " VALUES (%s, %s, TRUE, %s, %s)",
                    (m.version, m.description, m.checksum, time.perf_counter_ns() - start),
                )
        except psycopg.errors.InsufficientPrivilege as exc:
            raise not_allowed(conn, exc, f"write the migration ledger {LEDGER}") from None


def _failure(
    conn: psycopg.Connection,
    m: Migration,
    path: Path,
    exc: psycopg.Error,
    *,
    in_transaction: bool,
    reverting: bool,
    earlier: int,
) -> MigrationError:
    """The one sentence for a migration file that failed: what failed, what stays, and what to do."""
    undone = "its changes were rolled back" if in_transaction else "it ran without a transaction: check what it left"
    if earlier:
        undone += (
            f", and the {earlier} migration(s) {'reverted' if reverting else 'applied'} before it in this run stay so"
        )
    if exc.sqlstate in _DUPLICATE_OBJECT:
        advice = (
            "the database already holds an object it creates, so migrate an empty database "
            "(or one this kit or sqlx migrated) or remove that object first"
        )
    elif exc.sqlstate == _DEPENDENT_OBJECTS:
        advice = "objects the kit did not create depend on what it drops, so remove them first"
    elif exc.sqlstate == _READ_ONLY:
        advice = "the server or session is read-only (a standby, or default_transaction_read_only), so migrate on a writable server"
    elif exc.sqlstate == _INSUFFICIENT_PRIVILEGE:
        advice = f"the user {conn.info.user!r} lacks a privilege it needs, so migrate as the database's owner"
    else:
        advice = "fix the file and migrate again"
    return MigrationError(
        f"Migration {m.version} ({m.description}) failed in {path.name} ({db.driver_message(exc)}); {undone}: {advice}."
    )
