"""nbval runs the notebooks last, against a throw-away local database seeded with the demo profile, seed 42."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_state: dict[str, Path] = {}


def _is_notebook_item(item: pytest.Item) -> bool:
    return type(item).__module__.startswith("nbval")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Notebooks after every other test, so DATABASE_URL is set for their kernels only."""
    items.sort(key=_is_notebook_item)  # stable: keeps each group's order


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before the first notebook's kernel starts: a fresh local server, migrated and seeded (demo, 42)."""
    if not _is_notebook_item(item) or "home" in _state:
        return
    import seed
    from opentier_explore import migrate, server

    home = Path(tempfile.mkdtemp(prefix="otnb-"))
    _state["home"] = home
    url = server.start(home / "pgdata")
    migrate.up(url)
    seed.run(url, profile="demo", seed=42, progress=False)
    os.environ["DATABASE_URL"] = url


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop and delete the notebooks' server."""
    home = _state.pop("home", None)
    if home is None:
        return
    from opentier_explore import server

    os.environ.pop("DATABASE_URL", None)
    server.stop(home / "pgdata")
    shutil.rmtree(home, ignore_errors=True)
