"""`%load_ext opentier_explore`: readable tables, and `%sql` / `%%sql` (jupysql) read-only on the notebook's database."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlalchemy
    from IPython.core.interactiveshell import InteractiveShell

#: The name `%sql --connections` shows for the kit's connection (never its URL).
SQL_ALIAS = "opentier"

# jupysql reports usage to its maker and prints version and sign-up notices unless these are set;
# the notices would also land in the notebooks' stored outputs.
_JUPYSQL_QUIET = {"PLOOMBER_STATS_ENABLED": "false", "PLOOMBER_VERSION_CHECK_DISABLED": "true"}


def _plain(obj: Any, printer, cycle: bool) -> None:
    from .display import readable

    printer.text(repr(readable(obj)))


def _plain_scalar(obj: Any, printer, cycle: bool) -> None:
    from .display import readable_scalar

    printer.text(str(readable_scalar(obj)))


def _html(obj: Any) -> str | None:
    from .display import readable

    return readable(obj)._repr_html_()


def register_display(shell: InteractiveShell) -> None:
    """Show DataFrames, Series, Timestamps and Timedeltas in `shell` through `display.readable`."""
    import pandas as pd

    formatters = shell.display_formatter.formatters
    for kind in (pd.DataFrame, pd.Series):
        formatters["text/plain"].for_type(kind, _plain)
    formatters["text/html"].for_type(pd.DataFrame, _html)
    for kind in (pd.Timestamp, pd.Timedelta):
        formatters["text/plain"].for_type(kind, _plain_scalar)


def enable_sql(shell: InteractiveShell, url: str | None = None) -> sqlalchemy.Engine:
    """Load jupysql into `shell` with the kit's read-only engine as its connection, results as DataFrames."""
    for name, value in _JUPYSQL_QUIET.items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("PLOOMBER_HOME_DIR", str(_ploomber_home()))
    from IPython.utils.capture import capture_output

    from .readonly_sql import read_only_engine

    engine = read_only_engine(url)
    with capture_output():  # jupysql's notices on loading (e.g. "install toml") are not the analyst's business
        shell.extension_manager.load_extension("sql")
    from sql.connection import ConnectionManager

    magic = shell.magics_manager.registry["SqlMagic"]
    magic.autopandas = True
    magic.autocommit = False  # transactions stay psycopg's (BEGIN READ ONLY), never AUTOCOMMIT
    magic.displaycon = False
    magic.feedback = 0
    ConnectionManager.set(engine, displaycon=False, alias=SQL_ALIAS, config=magic)
    connection = ConnectionManager.current

    def end_transaction(result=None) -> None:
        # One cell, one read-only transaction: no snapshot stays open between cells.
        sqla = connection.connection_sqlalchemy
        if not sqla.closed and sqla.in_transaction():
            sqla.rollback()

    shell.events.register("post_run_cell", end_transaction)
    return engine


def _ploomber_home() -> Path:
    from . import config

    return config.home() / "jupysql"


def load(shell: InteractiveShell) -> None:
    """What `%load_ext opentier_explore` does."""
    register_display(shell)
    enable_sql(shell)
