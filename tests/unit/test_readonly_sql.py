"""The statement check behind `%sql`: only reading statements pass, whatever their case, comments or parentheses."""

from __future__ import annotations

import pytest

from opentier_explore.errors import ReadOnlyRefused
from opentier_explore.readonly_sql import check_reads_only, first_keyword


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT 1",
        "select count(*) from users",
        "  -- a comment\n  SELECT 1",
        "/* block */ WITH x AS (SELECT 1) SELECT * FROM x",
        "(SELECT 1) UNION (SELECT 2)",
        "VALUES (1), (2)",
        "TABLE users",
        "SHOW server_version",
        "EXPLAIN SELECT 1",
        "SELECT 1; SELECT 2",
        "",
    ],
)
def test_reading_statements_pass(statement: str) -> None:
    check_reads_only(statement)


@pytest.mark.parametrize(
    ("statement", "keyword"),
    [
        ("INSERT INTO users (id) VALUES ('x')", "INSERT"),
        ("update users set name = 'x'", "UPDATE"),
        ("DELETE FROM users", "DELETE"),
        ("TRUNCATE users", "TRUNCATE"),
        ("DROP TABLE users", "DROP"),
        ("CREATE TABLE t (x int)", "CREATE"),
        ("SET default_transaction_read_only = off", "SET"),
        ("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", "SET"),
        ("RESET ALL", "RESET"),
        ("COMMIT", "COMMIT"),
        ("BEGIN READ WRITE", "BEGIN"),
        ("START TRANSACTION READ WRITE", "START"),
        ("SELECT 1; COMMIT; BEGIN READ WRITE", "COMMIT"),
        ("-- hidden\nCOPY users TO PROGRAM 'true'", "COPY"),
        ("DO $$ BEGIN PERFORM 1; END $$", "DO"),
        ("CALL some_procedure()", "CALL"),
    ],
)
def test_everything_else_is_refused_naming_the_keyword(statement: str, keyword: str) -> None:
    with pytest.raises(ReadOnlyRefused, match=rf"^%sql only reads: {keyword} is refused") as info:
        check_reads_only(statement)
    assert str(info.value).count(".") == 1 and str(info.value).endswith("EXPLAIN.")


def test_first_keyword() -> None:
    assert first_keyword("  ((select 1))") == "SELECT"
    assert first_keyword("-- only a comment") == ""
