"""The CLI's argument handling: jupyter lab's own options pass through, other unknown options are refused."""

from __future__ import annotations

import pytest

from opentier_explore.cli import parse_args


def test_lab_passes_unknown_options_to_jupyter() -> None:
    args = parse_args(["lab", "--no-browser", "--ServerApp.port=8899"])
    assert args.command == "lab" and args.lab_args == ["--no-browser", "--ServerApp.port=8899"]
    assert args.database_url is None


def test_database_url_is_accepted_before_or_after_the_command() -> None:
    assert parse_args(["--database-url", "postgresql://h/db", "migrate"]).database_url == "postgresql://h/db"
    assert parse_args(["migrate", "status", "--database-url", "postgresql://h/db"]).database_url == "postgresql://h/db"


def test_other_commands_refuse_unknown_options(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_args(["migrate", "--bogus"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unrecognized arguments: --bogus" in err


def test_seed_defaults() -> None:
    args = parse_args(["seed"])
    assert (args.profile, args.seed, args.truncate) == ("tiny", 42, False)


@pytest.mark.parametrize("command", [["migrate"], ["seed"], ["report"], ["db", "url"]])
def test_an_empty_database_url_is_a_usage_error(capsys, command: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_args([*command, "--database-url", ""])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--database-url" in err and "empty" in err


def test_an_unexpected_database_error_is_still_one_line(capsys, monkeypatch) -> None:
    import psycopg

    from opentier_explore import cli

    def lost(args):
        raise psycopg.OperationalError(
            "consuming input failed: server closed the connection unexpectedly\n\tThis probably means..."
        )

    monkeypatch.setattr(cli, "_migrate", lost)
    assert cli.main(["migrate", "status"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("opentier-explore: The database server reported an error (consuming input failed")


def test_refresh_takes_notebook_names_and_is_in_the_help(capsys) -> None:
    from opentier_explore import cli

    args = parse_args(["refresh", "01_branching_depth"])
    assert args.command == "refresh" and args.notebooks == ["01_branching_depth"] and args.func is cli._refresh
    assert parse_args(["refresh"]).notebooks == []
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    assert "refresh" in capsys.readouterr().out


def test_make_targets_go_through_the_cli() -> None:
    from pathlib import Path

    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    assert "python -c" not in makefile
    assert "$(BIN)/opentier-explore refresh" in makefile
