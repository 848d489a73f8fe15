"""Seeding a database: checks, one transaction, COPY, and the kit's record of what it seeded."""

from __future__ import annotations

import hashlib
import json
import sys

import psycopg

from opentier_explore import db
from opentier_explore.errors import NotMigrated, SeedError

from . import copy as copy_mod
from . import profile as profile_mod
from .generate import TABLES, iter_tables
from .pipeline import Pipeline

#: The kit's own record of what it seeded (one row per seeding), created inside the seeding transaction.
LEDGER = "_opentier_seed"
_LEDGER_DDL = f"""CREATE TABLE IF NOT EXISTS {LEDGER} (
    profile TEXT NOT NULL,
    seed BIGINT NOT NULL,
    kit_version TEXT NOT NULL,
    as_of TIMESTAMPTZ NOT NULL,
    profile_sha256 TEXT NOT NULL,
    row_counts JSONB NOT NULL
)"""


def _kit_version() -> str:
    from opentier_explore import __version__

    return __version__


def _counts(conn: psycopg.Connection) -> dict[str, int]:
    sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM \"{t}\"" for t in TABLES)
    return {t: int(n) for t, n in conn.execute(sql).fetchall()}


def _recorded(conn: psycopg.Connection) -> tuple[str, int, dict[str, int]] | None:
    if conn.execute("SELECT to_regclass(%s)", (LEDGER,)).fetchone()[0] is None:
        return None
    row = conn.execute(f"SELECT profile, seed, row_counts FROM {LEDGER} LIMIT 1").fetchone()
    return None if row is None else (row[0], int(row[1]), {k: int(v) for k, v in row[2].items()})


def _check_target(conn: psycopg.Connection, where: str, truncate: bool) -> None:
    """Refuse a database holding rows the kit did not seed; with truncate, empty one it did seed."""
    counts = _counts(conn)
    recorded = _recorded(conn)
    holding = {t: n for t, n in counts.items() if n}
    example = ", ".join(f"{n:,} row{'s' if n != 1 else ''} in {t}" for t, n in list(holding.items())[:2])
    if not holding:  # nothing to protect (a stale record of an earlier seeding, if any, goes)
        if recorded is not None:
            conn.execute(f"DELETE FROM {LEDGER}")
        return
    if recorded is None:
        if truncate:
            raise SeedError(
                f"The database at {where} holds rows the kit did not seed ({example}), and --truncate empties only "
                f"a database the kit seeded itself: seed an empty database instead."
            )
        raise SeedError(
            f"The database at {where} already holds rows the kit did not seed ({example}): seed an empty database instead."
        )
    prof, seed, rec_counts = recorded
    if not truncate:
        raise SeedError(
            f"The database at {where} already holds data the kit seeded (profile {prof}, seed {seed}): "
            f"add --truncate to replace it."
        )
    changed = [t for t in TABLES if counts.get(t, 0) != rec_counts.get(t, 0)]
    if changed:
        t = changed[0]
        raise SeedError(
            f"The database at {where} was seeded by the kit but its {t} table changed since "
            f"({rec_counts.get(t, 0)} rows seeded, {counts[t]} now), so --truncate refuses to delete rows the kit did not write."
        )
    conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in TABLES))
    conn.execute(f"DELETE FROM {LEDGER}")


def run(
    url: str | None = None,
    *,
    profile: str = "tiny",
    seed: int = 42,
    truncate: bool = False,
    progress: bool | None = None,
) -> dict[str, int]:
    """Fill a migrated database with the profile's synthetic data in one transaction; returns rows per table."""
    prof = profile_mod.load(profile)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise SeedError(f"The seed must be a whole number between 0 and 2**63 - 1, not {seed!r}.")
    if progress is None:
        progress = sys.stderr.isatty()
    url = db.resolve_url(url)
    where = db.mask_url(url)
    from opentier_explore import migrate

    with db.connection(url) as conn:
        try:
            migrate.require_migrated(conn, doing="seed")
        except NotMigrated as exc:
            raise SeedError(str(exc)) from None
        try:
            counts = _seed_in_transaction(conn, prof, seed, truncate, progress, where)
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
            first = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0].rstrip(".")
            raise SeedError(
                f"Seeding the database at {where} failed and was rolled back, nothing changed ({first})."
            ) from None
    return counts


def _seed_in_transaction(
    conn: psycopg.Connection, prof: profile_mod.Profile, seed: int, truncate: bool, progress: bool, where: str
) -> dict[str, int]:
    """Lock the tables, check them, load, record the seeding, commit."""
    conn.execute("SET LOCAL lock_timeout = '15s'")
    conn.execute("LOCK TABLE " + ", ".join(f'"{t}"' for t in TABLES) + " IN ACCESS EXCLUSIVE MODE")
    _check_target(conn, where, truncate)
    counts = _load(conn, prof, seed, progress)
    conn.execute(_LEDGER_DDL)
    digest = hashlib.sha256(json.dumps(dict(prof), default=str, sort_keys=True).encode()).hexdigest()
    conn.execute(
        f"INSERT INTO {LEDGER} (profile, seed, kit_version, as_of, profile_sha256, row_counts) "
        "VALUES (%s, %s, %s, %s, %s, %s)",
        (prof.name, seed, _kit_version(), prof.as_of, digest, json.dumps(counts)),
    )
    conn.commit()
    return counts


def _load(conn: psycopg.Connection, prof: profile_mod.Profile, seed: int, progress: bool) -> dict[str, int]:
    """Drop the tables' keys, indexes and foreign keys; COPY each table as it is generated, rebuild its keys and
    indexes and analyze it right after (on a worker thread, overlapping the next table's generation); re-add the
    foreign keys."""
    conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
    items = copy_mod.rebuildable(conn, TABLES)
    copy_mod.drop(conn, items)
    counts: dict[str, int] = {}
    work = Pipeline(conn, progress)
    try:
        for table in iter_tables(prof, seed):
            # ANALYZE too: the first queries on a freshly seeded database would otherwise plan without statistics.
            rebuild = [i.create_sql() for i in items if i.table == table.name and i.kind != "fk"]
            work.copy(table, then=rebuild + [f'ANALYZE "{table.name}"'])
            counts[table.name] = len(table)
        work.execute([i.create_sql() for i in items if i.kind == "fk"], "foreign keys")
        work.finish()
    except BaseException:
        work.abort()
        raise
    return counts
