"""`%load_ext opentier_explore` in an IPython shell: `%sql` reads the notebook's database as DataFrames, never writes,
keeps no transaction open between cells, and never shows the password; tables display readably."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import psycopg
import pytest

PASSWORD = "s3cr3t-Pw"


def _with_password(url: str) -> str:
    # The embedded server trusts its Unix socket, so the password is accepted and ignored: what matters is
    # that it sits in DATABASE_URL, where a real server's would.
    parts = urlsplit(url)
    user, _, host = parts.netloc.partition("@")
    return urlunsplit(parts._replace(netloc=f"{user}:{PASSWORD}@{host}"))


@pytest.fixture(scope="module")
def shell(tiny_url: str) -> Iterator[object]:
    from IPython.core.interactiveshell import InteractiveShell

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATABASE_URL", _with_password(tiny_url))
        ip = InteractiveShell.instance()
        result = ip.run_cell("%load_ext opentier_explore")
        assert result.success, result.error_in_exec
        try:
            yield ip
        finally:
            from sql.connection import ConnectionManager

            ConnectionManager.close_all()
            InteractiveShell.clear_instance()


def _run(shell, cell: str):
    """(result, everything the cell printed or displayed, error text if any)."""
    from IPython.utils.capture import capture_output

    with capture_output() as cap:
        result = shell.run_cell(cell)
    shown = cap.stdout + cap.stderr + "".join(str(o.data) for o in cap.outputs)
    error = result.error_in_exec or result.error_before_exec
    return result, shown + (str(error) if error else "")


def _count(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_line_and_cell_magic_return_dataframes_from_the_notebooks_database(shell, tiny_url: str) -> None:
    result, _ = _run(shell, "%sql SELECT role::text AS role, count(*) AS n FROM users GROUP BY 1 ORDER BY 1")
    assert result.success and isinstance(result.result, pd.DataFrame)
    assert int(result.result["n"].sum()) == _count(tiny_url, "users")
    result, _ = _run(shell, "%%sql\nSELECT count(*) AS n\nFROM chat_messages")
    assert isinstance(result.result, pd.DataFrame) and int(result.result["n"].iloc[0]) == _count(
        tiny_url, "chat_messages"
    )


def test_every_transaction_is_read_only_and_none_outlives_its_cell(shell, tiny_url: str) -> None:
    result, _ = _run(shell, "%sql SELECT current_setting('transaction_read_only') AS ro")
    assert result.result["ro"].iloc[0] == "on"
    with psycopg.connect(tiny_url) as conn:
        states = conn.execute(
            "SELECT state FROM pg_stat_activity WHERE application_name = 'opentier-explore' AND pid <> pg_backend_pid()"
        ).fetchall()
    assert states and all(state != "idle in transaction" for (state,) in states)


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO users (id, email, name, username, role) SELECT gen_random_uuid(), 'x@y', 'x', 'x', 'user'",
        "DELETE FROM users",
        "WITH gone AS (DELETE FROM users RETURNING 1) SELECT count(*) FROM gone",
        "SET default_transaction_read_only = off",
        "SELECT 1; COMMIT; BEGIN READ WRITE; DELETE FROM users",
        "CREATE TABLE scratch (x int)",
    ],
)
def test_a_write_through_sql_is_refused_in_one_sentence(shell, tiny_url: str, statement: str) -> None:
    before = _count(tiny_url, "users")
    result, shown = _run(shell, f"%%sql\n{statement}")
    assert not result.success
    assert type(result.error_in_exec).__name__ == "ReadOnlyRefused"
    assert "%sql only reads" in shown and "Traceback" not in shown
    assert _count(tiny_url, "users") == before
    result, _ = _run(shell, "%sql SELECT 1 AS one")  # the connection is usable again
    assert result.success


def test_session_default_switched_off_still_cannot_write(shell, tiny_url: str) -> None:
    before = _count(tiny_url, "users")
    _run(shell, "%sql SELECT set_config('default_transaction_read_only', 'off', false)")
    result, shown = _run(shell, "%sql WITH gone AS (DELETE FROM users RETURNING 1) SELECT count(*) FROM gone")
    assert not result.success and "%sql only reads" in shown
    assert _count(tiny_url, "users") == before


def test_persisting_a_dataframe_is_refused(shell, tiny_url: str) -> None:
    shell.user_ns["frame"] = pd.DataFrame({"x": [1]})
    result, _ = _run(shell, "%sql --persist frame")
    assert not result.success
    with psycopg.connect(tiny_url) as conn:
        assert conn.execute("SELECT to_regclass('public.frame')").fetchone()[0] is None


def test_the_password_is_never_shown(shell) -> None:
    cells = ["%sql --connections", "%sql SELECT * FROM no_such_table", "%sql DELETE FROM users", "%sql SELECT 1 AS one"]
    for cell in cells:
        _, shown = _run(shell, cell)
        assert PASSWORD not in shown, cell


def test_tables_and_scalars_display_readably(shell) -> None:
    result, _ = _run(
        shell, "%sql SELECT date_trunc('week', created_at) AS week, count(*) AS n FROM users GROUP BY 1 ORDER BY 1"
    )
    plain = shell.display_formatter.format(result.result)[0]
    assert "+00:00" not in plain["text/plain"] and "00:00:00" not in plain["text/plain"]
    assert "+00:00" not in plain["text/html"]
    assert str(result.result["week"].dt.tz) in ("UTC", "Etc/UTC")  # the value keeps its zone
    shell.user_ns["ts"] = pd.Timestamp("2026-06-29 23:26:26.851835", tz="UTC")
    assert shell.display_formatter.format(shell.user_ns["ts"])[0]["text/plain"] == "2026-06-29 23:26:26 UTC"


def test_an_unreachable_database_is_one_sentence_without_the_password(tmp_path) -> None:
    from opentier_explore.errors import ConnectionFailed
    from opentier_explore.readonly_sql import read_only_engine

    with pytest.raises(ConnectionFailed) as info:
        read_only_engine(f"postgresql://postgres:{PASSWORD}@/opentier?host={tmp_path}&port=5432")
    assert PASSWORD not in str(info.value) and str(info.value).startswith("Cannot reach a PostgreSQL server")
