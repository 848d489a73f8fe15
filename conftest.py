"""The notebooks' pytest set-up, kept out of notebooks/ so the analysts' folder holds notebooks only.

nbval runs the notebooks last, against a throw-away local database seeded with the demo profile, seed 42;
the browser test reuses that same database. The kit's own local state (`$OPENTIER_HOME`: the embedded server
notebook 04 and `twin.make_twin` put twins on) is a temporary directory for the session, never the project's.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import ExitStack
from pathlib import Path

import pytest

_stack = ExitStack()
_demo: list[str] = []
_kernels_pointed: list[bool] = []


def pytest_configure(config: pytest.Config) -> None:
    """The session's own kit home: the local server is started there on demand (by make_twin) and deleted after."""
    from opentier_explore import config as kit_config

    home = Path(tempfile.mkdtemp(prefix="otkh-"))
    os.environ[kit_config.HOME_ENV] = str(home)
    _stack.callback(shutil.rmtree, home, ignore_errors=True)
    _stack.callback(_stop_local_server, home / "pgdata")


def _stop_local_server(pgdata: Path) -> None:
    from opentier_explore import server

    server.stop(pgdata)


def _is_notebook_item(item: pytest.Item) -> bool:
    return type(item).__module__.startswith("nbval")


def demo_database() -> str:
    """The session's throw-away demo database (demo profile, seed 42), created on first use; its URL."""
    if not _demo:
        from opentier_explore.prepare import throwaway

        _demo.append(_stack.enter_context(throwaway()))
    return _demo[0]


@pytest.fixture(scope="session")
def demo_url() -> str:
    """URL of the session's throw-away demo database (never modify it: the notebooks' outputs come from it)."""
    return demo_database()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Notebooks after every other test, so DATABASE_URL is set for their kernels only."""
    items.sort(key=_is_notebook_item)  # stable: keeps each group's order


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before the first notebook's kernel starts: DATABASE_URL points at the demo database."""
    if not _is_notebook_item(item) or _kernels_pointed:
        return
    from opentier_explore.execute import database_env

    _kernels_pointed.append(True)
    # The stored outputs are demo/42's, never a user's database: DATABASE_URL is replaced, then restored.
    _stack.enter_context(database_env(demo_database()))


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop and delete the demo database's server."""
    _stack.close()
