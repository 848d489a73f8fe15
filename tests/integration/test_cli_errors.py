"""Every expected error of the real CLI: non-zero exit, exactly one line on stderr, no traceback, no password."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from opentier_explore import config, migrate

PASSWORD = "s3cretpw"
ROLE = "opentier_pwtest"


def run_cli(*args: str, env_url: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != config.DATABASE_URL_ENV}
    if env_url is not None:
        env[config.DATABASE_URL_ENV] = env_url
    return subprocess.run(
        [sys.executable, "-m", "opentier_explore", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=config.PROJECT_DIR,
    )


def assert_one_sentence_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert PASSWORD not in result.stderr and PASSWORD not in result.stdout
    assert line.startswith("opentier-explore: ") and line.endswith("."), line
    for fragment in fragments:
        assert fragment in line, line
    return line


def socket_url(pg, user: str, password: str, dbname: str) -> str:
    """A URL with a user and password on the session server's Unix socket."""
    base = psycopg.conninfo.conninfo_to_dict(pg.url("postgres"))
    host = quote(str(base["host"]), safe="/")
    return f"postgresql://{user}:{password}@/{dbname}?host={host}&port={base['port']}"


@pytest.fixture(scope="module")
def password_role(pg) -> Iterator[str]:
    """A role that must authenticate with a password (scram), though the server trusts every other local user."""
    with pg.admin() as conn:
        conn.execute(f"DROP ROLE IF EXISTS {ROLE}")
        conn.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD 'the-right-one'")
        hba = Path(conn.execute("SHOW hba_file").fetchone()[0])
        original = hba.read_bytes()
        # Only this role's rule changes, and first match wins in pg_hba.conf.
        hba.write_bytes(f"local all {ROLE} scram-sha-256\n".encode() + original)
        conn.execute("SELECT pg_reload_conf()")
    try:
        yield ROLE
    finally:
        with pg.admin() as conn:
            hba.write_bytes(original)
            conn.execute("SELECT pg_reload_conf()")
            conn.execute(f"DROP ROLE IF EXISTS {ROLE}")


def test_unreachable_server() -> None:
    result = run_cli("migrate", "--database-url", f"postgresql://u:{PASSWORD}@127.0.0.1:1/x")
    assert_one_sentence_error(result, "Cannot reach a PostgreSQL server at postgresql://u:***@127.0.0.1:1/x")


def test_unreachable_server_from_the_environment() -> None:
    result = run_cli("migrate", "status", env_url=f"postgresql://u:{PASSWORD}@127.0.0.1:1/x")
    assert_one_sentence_error(result, "Cannot reach", "u:***@")


def test_bad_password(pg, password_role: str, fresh_url: str) -> None:
    dbname = psycopg.conninfo.conninfo_to_dict(fresh_url)["dbname"]
    url = socket_url(pg, password_role, PASSWORD, dbname)
    assert_one_sentence_error(run_cli("migrate", "--database-url", url), "refused the credentials", f"{ROLE}:***@")


def test_unknown_user(pg, fresh_url: str) -> None:
    dbname = psycopg.conninfo.conninfo_to_dict(fresh_url)["dbname"]
    url = socket_url(pg, "nobody_here", PASSWORD, dbname)
    assert_one_sentence_error(run_cli("migrate", "status", "--database-url", url), "User 'nobody_here' does not exist")


@pytest.mark.parametrize(
    "url",
    [
        f"mysql://u:{PASSWORD}@localhost/x",
        f"u:{PASSWORD}@localhost/x",
        f"postgresql://u:{PASSWORD}@localhost:notaport/x",
        f"postgresql://u:{PASSWORD}@localhost/x?sslmode=bogus",
        f"postgresql://u:{PASSWORD}@localhost/x?nosuchoption=1",
    ],
)
def test_malformed_url(url: str) -> None:
    result = run_cli("migrate", "--database-url", url)
    assert_one_sentence_error(result, "database URL", "postgresql://USER:PASSWORD@HOST:PORT/DATABASE")
    assert result.returncode == 2


def test_database_missing(pg) -> None:
    url = socket_url(pg, "postgres", PASSWORD, "no_such_database")
    assert_one_sentence_error(run_cli("migrate", "--database-url", url), "Database 'no_such_database' does not exist")


def test_migrations_not_applied(fresh_url: str) -> None:
    result = run_cli("migrate", "status", "--check", "--database-url", fresh_url)
    assert_one_sentence_error(result, "has no OpenTier schema (or is behind): run `opentier-explore migrate`")
    assert result.stdout.count("pending") == len(migrate.discover())


def test_migration_refused(pg, tmp_path: Path, fresh_url: str) -> None:
    # The kit's ledger (it records the kit's first version) also holds a version the folder lacks.
    first = migrate.discover()[0]
    with psycopg.connect(fresh_url, autocommit=True) as conn:
        conn.execute(migrate.CREATE_LEDGER)
        conn.execute(
            "INSERT INTO _sqlx_migrations VALUES (%s, %s, now(), true, %s, 0)",
            (first.version, first.description, first.checksum),
        )
        conn.execute("INSERT INTO _sqlx_migrations VALUES (1, 'ghost', now(), true, '\\x00', 0)")
    try:
        result = run_cli("migrate", "--database-url", fresh_url)
        assert_one_sentence_error(result, "has migration 1 applied but")
    finally:
        with psycopg.connect(fresh_url, autocommit=True) as conn:
            conn.execute("DROP TABLE _sqlx_migrations")


def test_conflicting_down_options(fresh_url: str) -> None:
    result = run_cli("migrate", "down", "--to", "1", "--all", "--database-url", fresh_url)
    assert_one_sentence_error(result, "--to VERSION or --all")


def test_migrate_status_check_passes_when_migrated(migrated_url: str) -> None:
    result = run_cli("migrate", "status", "--check", "--database-url", migrated_url)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.count("applied") == len(migrate.discover())


@pytest.fixture(scope="module")
def plain_role(pg) -> Iterator[str]:
    """A role with no privileges on the kit's objects (an analyst's or application's role, say)."""
    with pg.admin() as conn:
        conn.execute("DROP ROLE IF EXISTS opentier_plain")
        conn.execute("CREATE ROLE opentier_plain LOGIN")
    yield "opentier_plain"
    with pg.admin() as conn:
        conn.execute("DROP ROLE IF EXISTS opentier_plain")


def test_a_user_without_privileges(pg, plain_role: str, fresh_url: str, migrated_url: str) -> None:
    empty = socket_url(pg, plain_role, PASSWORD, psycopg.conninfo.conninfo_to_dict(fresh_url)["dbname"])
    assert_one_sentence_error(
        run_cli("migrate", "--database-url", empty),
        f"The user '{plain_role}' may not create the migration ledger",
        "permission denied",
    )
    migrated = socket_url(pg, plain_role, PASSWORD, psycopg.conninfo.conninfo_to_dict(migrated_url)["dbname"])
    before = migrate.status(migrated_url)
    for args in (["migrate"], ["migrate", "status"], ["migrate", "down"], ["seed"]):
        assert_one_sentence_error(
            run_cli(*args, "--database-url", migrated), f"The user '{plain_role}' may not read the migration ledger"
        )
    # Allowed to read but not to change: the refusal names the missing privilege, nothing changes.
    with psycopg.connect(migrated_url, autocommit=True) as conn:
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {plain_role}")
    try:
        assert run_cli("migrate", "--database-url", migrated).returncode == 0  # up to date: no CREATE needed
        assert_one_sentence_error(
            run_cli("migrate", "down", "--database-url", migrated),
            "must be owner",
            f"the user '{plain_role}' lacks a privilege it needs",
        )
        assert migrate.status(migrated_url) == before
    finally:
        with psycopg.connect(migrated_url, autocommit=True) as conn:
            conn.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {plain_role}")
