"""The migration verbs: `up`, `down`, `status`, and the checks that the kit may (or did) migrate a database.

The files, the ledger and running one migration are `ledger`'s (sqlx's format, shared with the OpenTier services).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import db, provenance
from . import ledger as _ledger
from .errors import MigrationError, NotMigrated
from .ledger import CREATE_LEDGER, LEDGER, Applied, Migration, discover, lock_id, parse_filename

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "CREATE_LEDGER",
    "LEDGER",
    "Migration",
    "MigrationStatus",
    "discover",
    "down",
    "foreign_sentence",
    "lock_id",
    "parse_filename",
    "read_provenance",
    "refuse_foreign",
    "require_migrated",
    "status",
    "up",
]


@dataclass(frozen=True)
class MigrationStatus:
    """One line of `migrate status`: a version and its state (applied, pending, changed, failed or unknown)."""

    version: int
    description: str
    state: str


def up(url: str | None = None, *, target: int | None = None, folder: Path | str | None = None) -> list[Migration]:
    """Apply every pending migration (up to `target`), in version order; return those applied."""
    folder = _ledger.folder_of(folder)
    migrations = discover(folder)
    if target is not None:
        _ledger.check_known(target, migrations, folder)
    done: list[Migration] = []
    with _ledger.locked(url) as conn:
        refuse_foreign(conn, "migrate", folder)
        _ledger.ensure_ledger(conn)
        applied = _ledger.read_ledger(conn) or {}  # re-read under the lock: a concurrent run may have applied some
        _ledger.check(applied, migrations, folder)
        for m in migrations:
            if m.version in applied or (target is not None and m.version > target):
                continue
            _ledger.apply(conn, m, reverting=False, earlier=len(done))
            done.append(m)
    return done


def down(
    url: str | None = None, *, to: int | None = None, all: bool = False, folder: Path | str | None = None
) -> list[Migration]:
    """Revert the last applied migration (or every one newer than `to`, or all), newest first; return those reverted."""
    if to is not None and all:
        raise MigrationError("Give either a version to revert to or all, not both.")
    folder = _ledger.folder_of(folder)
    migrations = discover(folder)
    if to is not None:
        _ledger.check_known(to, migrations, folder)
    done: list[Migration] = []
    with _ledger.locked(url) as conn:
        refuse_foreign(conn, "migrate", folder)
        applied = _ledger.read_ledger(conn) or {}
        _ledger.check(applied, migrations, folder)
        for m in _to_revert(migrations, applied, to=to, all=all):
            _ledger.apply(conn, m, reverting=True, earlier=len(done))
            done.append(m)
    return done


def _to_revert(
    migrations: list[Migration], applied: dict[int, Applied], *, to: int | None, all: bool
) -> list[Migration]:
    """The applied migrations `down` reverts, newest first; MigrationError if one of them has no down file."""
    newest_first = [m for m in reversed(migrations) if m.version in applied]
    if all or to is not None:
        chosen = [m for m in newest_first if all or m.version > to]
    else:
        chosen = newest_first[:1]
    lacking = [m.version for m in chosen if m.down_path is None]
    if lacking:
        raise MigrationError(f"Migration {lacking[0]} has no down file, so it cannot be reverted: add its .down.sql.")
    return chosen


def status(url: str | None = None, *, folder: Path | str | None = None) -> list[MigrationStatus]:
    """Each version of the folder and the ledger with its state: applied, pending, changed, failed or unknown."""
    migrations = discover(folder)
    with db.connection(url, autocommit=True, read_only=True) as conn:
        applied = _ledger.read_ledger(conn) or {}
    rows = {m.version: MigrationStatus(m.version, m.description, _state(m, applied.get(m.version))) for m in migrations}
    for v, a in applied.items():
        if v not in rows:
            rows[v] = MigrationStatus(v, a.description, "unknown")
    return [rows[v] for v in sorted(rows)]


def _state(m: Migration, a: Applied | None) -> str:
    if a is None:
        return "pending"
    if not a.success:
        return "failed"
    return "changed" if a.checksum != m.checksum else "applied"


def foreign_sentence(conn: psycopg.Connection, prov: provenance.Provenance, doing: str) -> str:
    """The one sentence refusing to `doing` (migrate, seed, …) a database the kit did not migrate."""
    return (
        f"The database at {db.mask_url(db.display_url(conn))} was not migrated by the kit, as {prov.who()}: "
        f"the kit reads this database as it is and does not {doing} it."
    )


def read_provenance(conn: psycopg.Connection, folder: Path | str | None = None) -> provenance.Provenance:
    """`provenance.read`, with a ledger the user may not read turned into one sentence (MigrationError)."""
    import psycopg

    try:
        return provenance.read(conn, folder, strict=True)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise _ledger.not_allowed(conn, exc, "read the migration ledger") from None


def refuse_foreign(conn: psycopg.Connection, doing: str, folder: Path | str | None = None) -> None:
    """Raise MigrationError unless the kit may write to this database (it migrated it, or it holds nothing OpenTier's)."""
    prov = read_provenance(conn, folder)
    if not prov.writable:
        raise MigrationError(foreign_sentence(conn, prov, doing))


def require_migrated(conn_or_url: Any = None, *, folder: Path | str | None = None, doing: str = "migrate") -> None:
    """Raise NotMigrated unless the kit migrated the database and every migration of the folder is applied.

    A database the kit did not migrate gets the sentence that the kit reads it as it is and does not `doing` it.
    """
    if conn_or_url is None or isinstance(conn_or_url, str):
        with db.connection(conn_or_url, autocommit=True, read_only=True) as conn:
            return require_migrated(conn, folder=folder, doing=doing)
    if not hasattr(conn_or_url, "info") or not hasattr(conn_or_url.info, "dbname"):
        # A SQLAlchemy Engine or Connection: check on a libpq connection of our own.
        engine = getattr(conn_or_url, "engine", conn_or_url)
        return require_migrated(db.engine_url(engine), folder=folder, doing=doing)
    conn = conn_or_url
    from psycopg.pq import TransactionStatus

    # Leave the caller's connection as found: end the transaction our SELECTs open, if none was open before.
    idle = not conn.autocommit and conn.info.transaction_status == TransactionStatus.IDLE
    try:
        prov = read_provenance(conn, folder)
        applied = _ledger.read_ledger(conn) or {}
    finally:
        if idle:
            conn.rollback()
    if not prov.writable:
        raise NotMigrated(foreign_sentence(conn, prov, doing))
    wanted = {m.version for m in discover(folder)}
    if not wanted <= {v for v, a in applied.items() if a.success}:
        raise NotMigrated(
            f"The database at {db.mask_url(db.display_url(conn))} has no OpenTier schema (or is behind): "
            f"run `opentier-explore migrate`."
        )
