"""Getting a database ready for the notebooks, and checking it is before they run."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from . import config, db, provenance
from .errors import NotMigrated

if TYPE_CHECKING:
    import psycopg
    import sqlalchemy


def _has_data(url: str) -> bool:
    with db.connection(url, read_only=True) as conn:
        row = conn.execute("SELECT EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM chat_messages)").fetchone()
    return bool(row and row[0])


def prepare(url: str | None = None, *, echo=print) -> str:
    """The URL notebooks should use: the local server started, migrated and seeded with demo data when empty.

    A database named by `url` or `$DATABASE_URL` is only checked against its catalog, never written:
    it may be a production replica, of either schema generation, migrated by the services.
    """
    from . import migrate

    named = db.resolve_url(url)
    if named:
        libpq = named
        with db.connection(libpq, autocommit=True, read_only=True) as conn:
            require_schema(conn)
        return libpq
    from . import server

    libpq = server.start()
    echo(f"local PostgreSQL ready: {db.mask_url(libpq)}")
    applied = migrate.up(libpq)
    if applied:
        echo(f"applied {len(applied)} migration(s)")
    if not _has_data(libpq):
        from . import seeding

        echo(f"seeding the '{config.DEMO_PROFILE}' profile (seed {config.DEMO_SEED}) into the empty database…")
        seeding.run(libpq, profile=config.DEMO_PROFILE, seed=config.DEMO_SEED)
    return libpq


def require_schema(conn: psycopg.Connection, tables: Sequence[str] = ()) -> None:
    """NotMigrated (one sentence) unless the catalog holds OpenTier's tables and `tables`; the ledger only shapes the advice."""
    prov = provenance.read(conn)
    where = db.mask_url(db.display_url(conn))
    present = set(prov.opentier_tables)
    if tables:
        present |= set(db.relations(conn)) & set(tables)
    core = [t for t in provenance.OPENTIER_TABLES if t not in present]
    wanted = [t for t in tables if t not in present]
    if not core and not wanted:
        return
    if prov.writable:  # the kit migrated it, or nothing is there yet: the kit's migrations bring what is missing
        raise NotMigrated(
            f"The database at {where} has no OpenTier schema (or is behind): run `opentier-explore migrate`."
        )
    if core:
        raise NotMigrated(
            f"The database at {where} lacks the OpenTier table{'s' if len(core) > 1 else ''} {_names(core)}, so it is "
            f"not an OpenTier database the kit can read: point DATABASE_URL at one."
        )
    if all(t in provenance.LATER_TABLES for t in wanted):
        raise NotMigrated(
            f"The database at {where} has no table {_names(wanted)}, which this notebook needs: its schema is an earlier "
            f"OpenTier generation (before moderation, Feb 2026), which the kit reads as it is, so this notebook does not apply."
        )
    raise NotMigrated(
        f"The database at {where} has no table {_names(wanted)}, which this notebook needs: the kit reads this database "
        f"as it is, so this notebook does not apply to it."
    )


def _names(tables: Sequence[str]) -> str:
    return ", ".join(repr(t) for t in tables)


def require_data(engine: sqlalchemy.Engine, *tables: str) -> None:
    """Stop with one sentence unless the catalog holds OpenTier's tables (and `tables`) and the database holds data.

    What is checked is the live catalog only; who migrated the database (`migrate status`) does not matter.
    """
    url = db.engine_url(engine)
    with db.connection(url, autocommit=True, read_only=True) as conn:
        require_schema(conn, tables)
        writable = provenance.read(conn).writable
    if not _has_data(url):
        where = db.mask_url(url)
        if writable:
            raise NotMigrated(
                f"The database at {where} is migrated but holds no OpenTier data: "
                "run `opentier-explore seed --profile demo` (or `make lab`)."
            )
        raise NotMigrated(
            f"The database at {where} holds no OpenTier data yet (no users, no chat messages): there is nothing to explore."
        )


@contextmanager
def throwaway(profile: str = config.DEMO_PROFILE, seed_value: int = config.DEMO_SEED) -> Iterator[str]:
    """A private local server in a temporary directory, migrated and seeded; its URL. Deleted on exit."""
    from . import migrate, seeding, server

    home = Path(tempfile.mkdtemp(prefix="otnb-"))
    pgdata = home / "pgdata"
    try:
        url = server.start(pgdata)
        migrate.up(url)
        seeding.run(url, profile=profile, seed=seed_value, progress=False)
        yield url
    finally:
        server.stop(pgdata)
        shutil.rmtree(home, ignore_errors=True)
