"""Getting a database ready for the notebooks, and checking it is before they run."""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from . import config, db
from .errors import NotMigrated

if TYPE_CHECKING:
    import sqlalchemy

#: What `make lab` / `make demo` seed into an empty local database.
DEMO_PROFILE = "demo"
DEMO_SEED = 42


def _has_data(url: str) -> bool:
    with db.connection(url, read_only=True) as conn:
        row = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM chat_messages)"
        ).fetchone()
    return bool(row and row[0])


def prepare(url: str | None = None, *, echo=print) -> str:
    """The URL notebooks should use: the local server started, migrated and seeded with demo data when empty.

    A database named by `url` or `$DATABASE_URL` is only checked, never written:
    it may be a production replica.
    """
    from . import migrate

    named = url or config.database_url_from_env()
    if named:
        libpq = db.normalize_url(named)
        with db.connection(libpq, read_only=True) as conn:
            migrate.require_migrated(conn)
        return libpq
    from . import server

    libpq = server.start()
    echo(f"local PostgreSQL ready: {db.mask_url(libpq)}")
    applied = migrate.up(libpq)
    if applied:
        echo(f"applied {len(applied)} migration(s)")
    if not _has_data(libpq):
        import seed

        echo(f"seeding the '{DEMO_PROFILE}' profile (seed {DEMO_SEED}) into the empty database…")
        seed.run(libpq, profile=DEMO_PROFILE, seed=DEMO_SEED)
    return libpq


def require_data(engine: "sqlalchemy.Engine") -> None:
    """Stop with one sentence unless the database is migrated and holds OpenTier data."""
    from . import migrate

    url = db.engine_url(engine)
    with db.connection(url, read_only=True) as conn:
        migrate.require_migrated(conn)
    if not _has_data(url):
        raise NotMigrated(
            f"The database at {db.mask_url(url)} is migrated but holds no OpenTier data: "
            "run `opentier-explore seed --profile demo` (or `make lab`)."
        )


@contextmanager
def throwaway(profile: str = DEMO_PROFILE, seed_value: int = DEMO_SEED) -> Iterator[str]:
    """A private local server in a temporary directory, migrated and seeded; its URL. Deleted on exit."""
    import seed

    from . import migrate, server

    home = Path(tempfile.mkdtemp(prefix="otnb-"))
    pgdata = home / "pgdata"
    try:
        url = server.start(pgdata)
        migrate.up(url)
        seed.run(url, profile=profile, seed=seed_value, progress=False)
        yield url
    finally:
        server.stop(pgdata)
        shutil.rmtree(home, ignore_errors=True)
