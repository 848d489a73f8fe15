"""Same profile and seed → byte-identical tables; another seed → other data; the schema is left exactly as migrated."""

from __future__ import annotations

import hashlib

import psycopg
import pytest
from _catalog import catalog

from opentier_explore import migrate, seeding
from seed.generate import TABLES


def dump(url: str) -> dict[str, str]:
    """SHA-256 of each table's `COPY (SELECT * FROM t ORDER BY 1) TO STDOUT`."""
    out = {}
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for t in TABLES:
            h = hashlib.sha256()
            with cur.copy(f'COPY (SELECT * FROM "{t}" ORDER BY 1) TO STDOUT') as cp:
                for block in cp:
                    h.update(block)
            out[t] = h.hexdigest()
    return out


@pytest.fixture(scope="module")
def seeded_twice(pg, tiny_template):
    """A second database seeded with tiny/42 from scratch, and a third with tiny/7."""
    urls = {}
    for name, s in (("det_tiny_42", 42), ("det_tiny_7", 7)):
        url = pg.create_db(name)
        migrate.up(url)
        seeding.run(url, profile="tiny", seed=s, progress=False)
        urls[s] = url
    yield pg.url(tiny_template), urls[42], urls[7]
    for name in ("det_tiny_42", "det_tiny_7"):
        pg.drop_db(name)


def test_same_profile_and_seed_give_identical_tables(seeded_twice):
    first, again, _ = seeded_twice
    assert dump(first) == dump(again)


def test_another_seed_gives_other_data(seeded_twice):
    first, _, other = seeded_twice
    a, b = dump(first), dump(other)
    assert all(a[t] != b[t] for t in TABLES)


def test_seeding_leaves_the_migrated_schema_exactly(seeded_twice, migrated_url):
    first, _, _ = seeded_twice
    seeded = catalog(first)
    fresh = catalog(migrated_url)
    for part in ("columns", "constraints"):
        seeded[part] = {k: v for k, v in seeded[part].items() if (k if isinstance(k, str) else k[0]) != seeding.LEDGER}
    seeded["indexes"] = {k: v for k, v in seeded["indexes"].items() if not k.startswith(seeding.LEDGER)}
    seeded["types"] = [
        t for t in seeded["types"] if t not in (seeding.LEDGER, "_" + seeding.LEDGER)
    ]  # row and array types
    assert seeded == fresh
    with psycopg.connect(first) as c1, psycopg.connect(migrated_url) as c2:
        q = """SELECT c.relname, k.conname, k.contype::text, pg_get_constraintdef(k.oid), k.convalidated
                 FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
                WHERE c.relnamespace = 'public'::regnamespace AND c.relname <> %s ORDER BY 1, 2"""
        assert (
            c1.execute(q, (seeding.LEDGER,)).fetchall() == c2.execute(q, (seeding.LEDGER,)).fetchall()
        )  # NOT NULL too
        q = """SELECT ic.relname, i.indisunique, i.indisprimary, i.indisvalid, i.indisready
                 FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                WHERE ic.relnamespace = 'public'::regnamespace AND ic.relname NOT LIKE %s ORDER BY 1"""
        assert c1.execute(q, (seeding.LEDGER + "%",)).fetchall() == c2.execute(q, (seeding.LEDGER + "%",)).fetchall()
