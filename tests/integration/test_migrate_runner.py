"""The runner's behaviour: round trips, step-by-step, refusals that change nothing, failures, the advisory lock."""

from __future__ import annotations

import itertools
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from _catalog import catalog, ledger, without_ledger

from opentier_explore import config, migrate
from opentier_explore.errors import MigrationError, NotMigrated

VERSIONS = [m.version for m in migrate.discover()]
_names = itertools.count()


@pytest.fixture
def url(pg) -> Iterator[str]:
    """A new empty database for one test."""
    name = f"t_runner_{next(_names)}"
    yield pg.create_db(name)
    pg.drop_db(name)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the migrations folder the test may edit."""
    return Path(shutil.copytree(config.migrations_dir(), tmp_path / "migrations"))


def state(url: str) -> tuple[dict, list]:
    """Everything a refusal must leave untouched: the catalog and the ledger rows."""
    return catalog(url), ledger(url)


# ---- Round trips -------------------------------------------------------------------------------------------


def test_down_all_leaves_nothing_of_the_kit_and_up_restores_it(url: str) -> None:
    empty = without_ledger(catalog(url))
    migrate.up(url)
    full = catalog(url)
    reverted = migrate.down(url, all=True)
    assert [m.version for m in reverted] == VERSIONS[::-1]
    after = catalog(url)
    assert list(after["columns"]) == ["_sqlx_migrations"]
    assert after["enums"] == {} and after["functions"] == {} and after["extensions"] == [] and after["triggers"] == {}
    assert without_ledger(after) == empty
    assert ledger(url) == []
    assert [m.version for m in migrate.up(url)] == VERSIONS
    assert catalog(url) == full


def test_step_down_and_up_one_version_at_a_time(url: str) -> None:
    snapshots = {0: without_ledger(catalog(url))}
    for v in VERSIONS:
        assert [m.version for m in migrate.up(url, target=v)] == [v]
        snapshots[v] = without_ledger(catalog(url))
    previous = dict(zip(VERSIONS, [0, *VERSIONS[:-1]]))
    for v in reversed(VERSIONS):
        assert [m.version for m in migrate.down(url)] == [v]
        assert without_ledger(catalog(url)) == snapshots[previous[v]]
        assert [r[0] for r in ledger(url)] == [x for x in VERSIONS if x < v]
    assert migrate.down(url) == []
    for v in VERSIONS:
        assert [m.version for m in migrate.up(url, target=v)] == [v]
        assert without_ledger(catalog(url)) == snapshots[v]


def test_down_to_a_version_and_status(url: str) -> None:
    migrate.up(url)
    middle = VERSIONS[7]
    reverted = migrate.down(url, to=middle)
    assert [m.version for m in reverted] == VERSIONS[8:][::-1]
    states = {s.version: s.state for s in migrate.status(url)}
    assert states == {v: "applied" if v <= middle else "pending" for v in VERSIONS}
    with pytest.raises(NotMigrated, match="run `opentier-explore migrate`"):
        migrate.require_migrated(url)


def test_status_of_an_empty_database_creates_nothing(url: str) -> None:
    before = state(url)
    assert [(s.version, s.state) for s in migrate.status(url)] == [(v, "pending") for v in VERSIONS]
    assert state(url) == before


def test_require_migrated_accepts_connections_and_engines(url: str) -> None:
    from opentier_explore import db

    with psycopg.connect(url) as conn:
        with pytest.raises(NotMigrated, match=r"^The database at postgresql://.*has no OpenTier schema"):
            migrate.require_migrated(conn)
    migrate.up(url)
    with psycopg.connect(url) as conn:
        migrate.require_migrated(conn)
        # The caller's connection is left as found, not idle in a transaction.
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    engine = db.connect(url)
    try:
        migrate.require_migrated(engine)
        with engine.connect() as sa_conn:
            migrate.require_migrated(sa_conn)
    finally:
        engine.dispose()


# ---- Refusals: an error, and nothing changed ----------------------------------------------------------------


def add_migration(folder: Path, version: int, up_sql: str, down_sql: str | None = "SELECT 1;\n") -> None:
    (folder / f"{version}_extra_step.up.sql").write_text(up_sql)
    if down_sql is not None:
        (folder / f"{version}_extra_step.down.sql").write_text(down_sql)


EXTRA = VERSIONS[-1] + 1


def test_refuses_when_an_applied_file_changed(url: str, folder: Path) -> None:
    migrate.up(url, folder=folder)
    changed = next(folder.glob(f"{VERSIONS[3]}_*.up.sql"))
    changed.write_bytes(changed.read_bytes() + b"-- edited afterwards\n")
    add_migration(folder, EXTRA, "CREATE TABLE extra_step (id int);\n")
    before = state(url)
    for verb in (lambda: migrate.up(url, folder=folder), lambda: migrate.down(url, folder=folder)):
        with pytest.raises(MigrationError, match=f"Migration {VERSIONS[3]} was applied from a different file"):
            verb()
        assert state(url) == before
    states = {s.version: s.state for s in migrate.status(url, folder=folder)}
    assert states[VERSIONS[3]] == "changed" and states[EXTRA] == "pending"


def test_refuses_when_the_ledger_has_a_failed_row(url: str, folder: Path) -> None:
    migrate.up(url, folder=folder, target=VERSIONS[-2])
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE _sqlx_migrations SET success = false WHERE version = %s", (VERSIONS[-2],))
    before = state(url)
    for verb in (lambda: migrate.up(url, folder=folder), lambda: migrate.down(url, folder=folder)):
        with pytest.raises(MigrationError, match=f"marks migration {VERSIONS[-2]} as failed"):
            verb()
        assert state(url) == before
    assert {s.version: s.state for s in migrate.status(url, folder=folder)}[VERSIONS[-2]] == "failed"


def test_refuses_when_the_ledger_has_versions_the_folder_lacks(url: str, folder: Path) -> None:
    migrate.up(url, folder=folder, target=VERSIONS[-2])
    add_migration(folder, EXTRA, "CREATE TABLE extra_step (id int);\n")
    for path in folder.glob(f"{VERSIONS[-2]}_*"):
        path.unlink()
    before = state(url)
    for verb in (lambda: migrate.up(url, folder=folder), lambda: migrate.down(url, folder=folder)):
        with pytest.raises(MigrationError, match=f"has migration {VERSIONS[-2]} applied but .* lacks it"):
            verb()
        assert state(url) == before
    assert {s.version: s.state for s in migrate.status(url, folder=folder)}[VERSIONS[-2]] == "unknown"


def test_refuses_to_revert_without_a_down_file(url: str, folder: Path) -> None:
    add_migration(folder, EXTRA, "CREATE TABLE extra_step (id int);\n", down_sql=None)
    migrate.up(url, folder=folder)
    before = state(url)
    with pytest.raises(MigrationError, match=f"Migration {EXTRA} has no down file"):
        migrate.down(url, all=True, folder=folder)
    assert state(url) == before


def test_refuses_an_unknown_target_version(url: str) -> None:
    before = state(url)
    with pytest.raises(MigrationError, match="Version 123 is not in"):
        migrate.up(url, target=123)
    with pytest.raises(MigrationError, match="Version 123 is not in"):
        migrate.down(url, to=123)
    assert state(url) == before


# ---- Failures and transactions ------------------------------------------------------------------------------


def test_a_failing_migration_rolls_back_and_leaves_nothing(url: str, folder: Path) -> None:
    add_migration(folder, EXTRA, "CREATE TABLE extra_step (id int);\nSELECT 1 / 0;\n")
    with pytest.raises(
        MigrationError, match=f"Migration {EXTRA} \\(extra step\\) failed.*division by zero.*rolled back"
    ):
        migrate.up(url, folder=folder)
    # The earlier migrations each committed on their own; the failing one left no table and no ledger row.
    assert [r[0] for r in ledger(url)] == VERSIONS
    assert "extra_step" not in catalog(url)["columns"]
    # Files are sent as they are: a "%" is not a placeholder.
    (folder / f"{EXTRA}_extra_step.up.sql").write_text(
        "CREATE TABLE extra_step (id int);\nCOMMENT ON TABLE extra_step IS '100% extra';\n"
    )
    assert [m.version for m in migrate.up(url, folder=folder)] == [EXTRA]
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT obj_description('extra_step'::regclass)").fetchone()[0] == "100% extra"


def test_a_database_holding_opentier_tables_without_the_kits_ledger_is_refused_unchanged(url: str) -> None:
    """A foreign database (a `users` table of its own, no ledger): the kit reads it as it is and does not migrate it."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE users (id serial PRIMARY KEY, email text)")
    before = state(url)
    for step in (migrate.up, migrate.down):
        with pytest.raises(MigrationError) as info:
            step(url)
        message = str(info.value)
        assert "was not migrated by the kit, as it holds OpenTier tables (users) but no migration ledger" in message
        assert message.endswith("the kit reads this database as it is and does not migrate it.")
    assert state(url) == before


def test_a_migration_colliding_with_an_object_is_named_not_the_file(url: str, folder: Path) -> None:
    """An object of the same name created between two runs: the error blames the database, not the file,
    and says the migrations before it stay applied (each committed on its own, as with sqlx)."""
    migrate.up(url, target=VERSIONS[2])
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE users (id serial PRIMARY KEY, email text)")
    users = VERSIONS[3]
    with pytest.raises(MigrationError) as info:
        migrate.up(url, target=VERSIONS[4])
    message = str(info.value)
    assert f"Migration {users} (create users) failed" in message and 'relation "users" already exists' in message
    assert "already holds an object it creates" in message and "fix the file" not in message
    assert [r[0] for r in ledger(url)] == VERSIONS[:3]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE users")
    add_migration(folder, VERSIONS[-1] + 1, "CREATE TABLE extra_one (id int);\n", "DROP TABLE extra_one;\n")
    add_migration(folder, VERSIONS[-1] + 2, "CREATE TABLE extra_one (id int);\n")
    with pytest.raises(MigrationError) as info:
        migrate.up(url, folder=folder)
    assert f"the {len(VERSIONS) - 3 + 1} migration(s) applied before it in this run stay so" in str(info.value)
    # Reverting into objects the kit did not create: named as such too.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE theirs (r user_role)")
    with pytest.raises(MigrationError, match="objects the kit did not create depend on what it drops"):
        migrate.down(url, all=True, folder=folder)


def test_a_read_only_server_is_named(url: str) -> None:
    read_only = url + "&options=-c%20default_transaction_read_only%3Don"
    with pytest.raises(MigrationError, match="is read-only .*migrate on a writable server"):
        migrate.up(read_only)
    assert ledger(url) == []
    migrate.up(url)
    with pytest.raises(
        MigrationError, match="cannot execute DROP TABLE in a read-only transaction.*migrate on a writable server"
    ):
        migrate.down(read_only)
    assert [r[0] for r in ledger(url)] == VERSIONS


def test_no_transaction_migration_runs_outside_a_transaction(url: str, folder: Path) -> None:
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction block: it only works on the no-transaction path.
    add_migration(
        folder,
        EXTRA,
        "-- no-transaction\nCREATE INDEX CONCURRENTLY idx_extra_documents_title ON documents (title);\n",
        "-- no-transaction\nDROP INDEX CONCURRENTLY idx_extra_documents_title;\n",
    )
    migrate.up(url, folder=folder)
    assert "idx_extra_documents_title" in catalog(url)["indexes"]
    assert migrate.down(url, folder=folder)[0].version == EXTRA
    assert "idx_extra_documents_title" not in catalog(url)["indexes"]

    (folder / f"{EXTRA}_extra_step.up.sql").write_text(
        "CREATE INDEX CONCURRENTLY idx_extra_documents_title ON documents (title);\n"
    )
    with pytest.raises(MigrationError, match="cannot run inside a transaction block"):
        migrate.up(url, folder=folder)


# ---- The advisory lock --------------------------------------------------------------------------------------


def _waiting_on_advisory_lock(admin: psycopg.Connection, dbname: str) -> list[int]:
    """Keys of advisory locks that kit connections on `dbname` are waiting for."""
    rows = admin.execute(
        """SELECT l.classid::bigint, l.objid::bigint FROM pg_locks l
           JOIN pg_stat_activity a ON a.pid = l.pid
           WHERE l.locktype = 'advisory' AND NOT l.granted AND a.datname = %s AND a.application_name = %s""",
        (dbname, config.APPLICATION_NAME),
    ).fetchall()
    keys = [(hi << 32) | lo for hi, lo in rows]
    return [k - (1 << 64) if k >= 1 << 63 else k for k in keys]


def test_migrate_waits_for_the_lock_and_applies_everything_once(url: str, pg) -> None:
    dbname = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    key = migrate.lock_id(dbname)
    results: list[list] = [[], []]
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            results[i] = migrate.up(url)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    with psycopg.connect(url, autocommit=True) as holder, pg.admin() as admin:
        holder.execute("SELECT pg_advisory_lock(%s)", (key,))
        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while len(_waiting_on_advisory_lock(admin, dbname)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _waiting_on_advisory_lock(admin, dbname) == [key, key]  # both wait, on sqlx's key
        assert all(t.is_alive() for t in threads)
        assert ledger(url) == []  # nothing ran while the lock was held
        holder.execute("SELECT pg_advisory_unlock(%s)", (key,))
        for t in threads:
            t.join(timeout=60)
    assert not errors
    assert sorted(len(r) for r in results) == [0, len(VERSIONS)]
    assert [r[0] for r in ledger(url)] == VERSIONS
