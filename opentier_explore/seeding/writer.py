"""Seeding a database: checks, one transaction, COPY, the kit's record of what it seeded, then a VACUUM."""

from __future__ import annotations

import sys
from collections.abc import Callable

import psycopg

from seed import profile as profile_mod
from seed.errors import ProfileError
from seed.generate import TABLES

from .. import db, server
from ..errors import NotMigrated, SeedError
from . import interrupt, ledger, pipeline, rebuild, source


def load_profile(name_or_path: str) -> profile_mod.Profile:
    """A built-in profile by name or a profile file by path; SeedError in one sentence if it is not usable."""
    try:
        return profile_mod.load(name_or_path)
    except ProfileError as exc:
        raise SeedError(str(exc)) from None


def run(
    url: str | None = None,
    *,
    profile: str = "tiny",
    seed: int = 42,
    truncate: bool = False,
    progress: bool | None = None,
) -> dict[str, int]:
    """Fill a migrated database with the profile's synthetic data in one transaction; returns rows per table."""
    prof = load_profile(profile)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise SeedError(f"The seed must be a whole number between 0 and 2**63 - 1, not {seed!r}.")
    if progress is None:
        progress = sys.stderr.isatty()
    url = db.resolve_url(url) or server.start()
    where = db.mask_url(url)
    from .. import migrate

    with db.connection(url) as conn:
        try:
            migrate.require_migrated(conn, doing="seed")
        except NotMigrated as exc:
            raise SeedError(str(exc)) from None
        try:
            with interrupt.deferred(conn) as stop:
                counts = _seed_in_transaction(conn, prof, seed, truncate, progress, where, stop.check)
        except MemoryError:  # numpy could not allocate the profile's arrays; the connection closes, rolling back
            raise SeedError(
                f"Profile {prof.name!r} is too large for this machine's memory, nothing was changed: "
                f"lower its sizes (users.count, conversations.count, …) in the profile file."
            ) from None
        except psycopg.errors.LockNotAvailable:
            raise SeedError(
                f"Another session is using the tables of the database at {where}: close it and seed again."
            ) from None
        except psycopg.Error as exc:
            raise SeedError(
                f"Seeding the database at {where} failed and was rolled back, nothing changed "
                f"({db.driver_message(exc)})."
            ) from None
        _vacuum(conn, where)
    return counts


def _vacuum(conn: psycopg.Connection, where: str) -> None:
    """VACUUM the seeded tables once committed, so that every page is all-visible (COPY FREEZE marks most)."""
    conn.autocommit = True  # VACUUM runs outside a transaction
    try:
        # ANALYZE again: skipping the pages FREEZE marked, VACUUM would leave an extrapolated row count behind.
        conn.execute("VACUUM (ANALYZE) " + ", ".join(f'"{t}"' for t in TABLES))
    except psycopg.Error as exc:
        raise SeedError(
            f"The database at {where} was seeded (committed), but the VACUUM after it failed "
            f"({db.driver_message(exc)}): run VACUUM (ANALYZE) on it for fast first queries, or seed again with --truncate."
        ) from None


def _seed_in_transaction(
    conn: psycopg.Connection,
    prof: profile_mod.Profile,
    seed: int,
    truncate: bool,
    progress: bool,
    where: str,
    check: Callable[[], None],
) -> dict[str, int]:
    """Lock the tables, check them, load, record the seeding, commit (`check` raises a pending Ctrl-C)."""
    conn.execute("SET LOCAL lock_timeout = '15s'")
    conn.execute("LOCK TABLE " + ", ".join(f'"{t}"' for t in TABLES) + " IN ACCESS EXCLUSIVE MODE")
    ledger.check_target(conn, where, truncate)
    counts = _load(conn, prof, seed, progress, check)
    ledger.record(conn, prof, seed, counts)
    check()
    conn.commit()
    return counts


def _load(
    conn: psycopg.Connection, prof: profile_mod.Profile, seed: int, progress: bool, check: Callable[[], None]
) -> dict[str, int]:
    """Drop the tables' keys, indexes and foreign keys; COPY each table as the generator process sends it, rebuild
    its keys and indexes and analyze it right after (the generator runs ahead meanwhile); re-add the foreign keys."""
    conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
    items = rebuild.rebuildable(conn, TABLES)
    rebuild.drop(conn, items)
    # Empty, or seeded by the kit and checked (--truncate): truncated here, which also lets each COPY FREEZE.
    conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in TABLES))
    # ANALYZE too: the first queries on a freshly seeded database would otherwise plan without statistics.
    then = {t: [i.create_sql() for i in items if i.table == t and i.kind != "fk"] + [f'ANALYZE "{t}"'] for t in TABLES}
    gen = source.Source(prof, seed, conn.info.encoding)
    try:
        counts = pipeline.load(conn, gen, then, progress, check)
    finally:
        gen.close()
    pipeline.execute(conn, [i.create_sql() for i in items if i.kind == "fk"], "foreign keys", progress, check)
    return counts
