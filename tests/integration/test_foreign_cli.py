"""The CLI on databases the kit did not migrate: `migrate status` reports them, every writing command refuses them."""

from __future__ import annotations

import psycopg
import pytest
from _catalog import catalog, ledger
from test_cli_errors import PASSWORD, assert_one_sentence_error, run_cli


def _with_password(url: str) -> str:
    """The same database with a password in the URL (the server trusts local users; the password must never show)."""
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@", 1)


def _state(url: str) -> tuple:
    with psycopg.connect(url) as conn:
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM chat_messages), (SELECT count(*) FROM sessions)"
        ).fetchone()
        intelligence = conn.execute("SELECT to_regclass('_intelligence_migrations') IS NOT NULL").fetchone()[0]
        rows = (
            conn.execute("SELECT version FROM _intelligence_migrations ORDER BY 1").fetchall() if intelligence else []
        )
    return catalog(url), ledger(url), counts, rows


@pytest.mark.parametrize(
    ("fixture", "first_line", "listed"),
    [
        (
            "feb2026_url",
            "Not migrated by the kit: it carries a sqlx ledger _sqlx_migrations of migrations the kit does not have "
            "(7 versions, the latest 20260114000003) and the intelligence service runner's ledger _intelligence_migrations "
            "(7 versions, the latest 20260115000009); the kit reads it as it is.",
            [
                "20260111000001  sqlx         create users table",
                "20260115000009  intelligence",
                "table chat_messages: 7 columns, 4 indexes, parent_id absent",
                "absent: knowledge_submissions",
                "enum user_role: user, admin",
                "functions: hybrid_search, update_updated_at_column",
            ],
        ),
        (
            "mar2026_url",
            "Not migrated by the kit: it carries a sqlx ledger _sqlx_migrations of migrations the kit does not have "
            "(16 versions, the latest 20260301000016); the kit reads it as it is.",
            ["20260301000016  sqlx         create knowledge submissions", "enum user_role: user, contributor, admin"],
        ),
    ],
)
def test_migrate_status_reports_whose_ledger_and_what_it_found(fixture, first_line, listed, request) -> None:
    url = request.getfixturevalue(fixture)
    result = run_cli("migrate", "status", "--database-url", _with_password(url))
    assert result.returncode == 0 and result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == first_line
    body = [line.strip() for line in lines[1:]]
    for item in listed:
        assert item in body, item
    assert PASSWORD not in result.stdout and "pending" not in result.stdout


@pytest.mark.parametrize("fixture", ["feb2026_url", "mar2026_url"])
def test_every_writing_command_refuses_in_one_sentence_and_changes_nothing(fixture, request) -> None:
    url = request.getfixturevalue(fixture)
    before = _state(url)
    for args, verb in (
        (["migrate"], "migrate"),
        (["migrate", "down", "--all"], "migrate"),
        (["seed"], "seed"),
        (["seed", "--truncate"], "seed"),
    ):
        line = assert_one_sentence_error(
            run_cli(*args, "--database-url", _with_password(url)),
            "was not migrated by the kit, as it carries a sqlx ledger _sqlx_migrations",
            f"the kit reads this database as it is and does not {verb} it.",
        )
        assert "run `opentier-explore migrate`" not in line
    assert_one_sentence_error(
        run_cli("migrate", "status", "--check", env_url=_with_password(url)), "the kit reads this database as it is"
    )
    assert _state(url) == before


def test_a_database_without_any_ledger_is_only_read(pg, generation_templates) -> None:
    url = pg.create_db("t_fcli_noledger", template=generation_templates["feb2026"])
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP TABLE _sqlx_migrations, _intelligence_migrations")
        before = _state(url)
        result = run_cli("migrate", "status", "--database-url", url)
        assert result.returncode == 0
        assert result.stdout.splitlines()[0].startswith(
            "Not migrated by the kit: it holds OpenTier tables (users, sessions, accounts, …) but no migration ledger"
        )
        assert_one_sentence_error(
            run_cli("migrate", "--database-url", url), "but no migration ledger", "does not migrate it."
        )
        assert_one_sentence_error(run_cli("seed", "--database-url", url), "does not seed it.")
        assert _state(url) == before
    finally:
        pg.drop_db("t_fcli_noledger")


def test_the_kits_own_database_still_migrates_and_reports_as_before(migrated_url: str) -> None:
    result = run_cli("migrate", "status", "--check", "--database-url", migrated_url)
    assert result.returncode == 0 and "Not migrated" not in result.stdout and result.stdout.count("applied") == 16
    assert run_cli("migrate", "--database-url", migrated_url).stdout.strip() == "database is up to date"
