"""The kit's record of what it seeded (`_opentier_seed`), and the check that protects rows it did not write."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from seed.generate import TABLES

from ..errors import SeedError
from ..version import __version__

if TYPE_CHECKING:
    import psycopg

    from seed.profile import Profile

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


def _counts(conn: psycopg.Connection) -> dict[str, int]:
    sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM \"{t}\"" for t in TABLES)
    return {t: int(n) for t, n in conn.execute(sql).fetchall()}


def _recorded(conn: psycopg.Connection) -> tuple[str, int, dict[str, int]] | None:
    if conn.execute("SELECT to_regclass(%s)", (LEDGER,)).fetchone()[0] is None:
        return None
    row = conn.execute(f"SELECT profile, seed, row_counts FROM {LEDGER} LIMIT 1").fetchone()
    return None if row is None else (row[0], int(row[1]), {k: int(v) for k, v in row[2].items()})


def check_target(conn: psycopg.Connection, where: str, truncate: bool) -> None:
    """Refuse a database holding rows the kit did not seed; with truncate, let one it did seed be replaced."""
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
    conn.execute(f"DELETE FROM {LEDGER}")  # the tables themselves are emptied by the seeding's TRUNCATE (writer)


def profile_digest(prof: Profile) -> str:
    """The digest of a profile's settings that the seeding record holds."""
    return hashlib.sha256(json.dumps(dict(prof), default=str, sort_keys=True).encode()).hexdigest()


def record(conn: psycopg.Connection, prof: Profile, seed: int, counts: dict[str, int]) -> None:
    """Write the record of this seeding (inside the seeding transaction)."""
    conn.execute(_LEDGER_DDL)
    digest = profile_digest(prof)
    conn.execute(
        f"INSERT INTO {LEDGER} (profile, seed, kit_version, as_of, profile_sha256, row_counts) "
        "VALUES (%s, %s, %s, %s, %s, %s)",
        (prof.name, seed, __version__, prof.as_of, digest, json.dumps(counts)),
    )
