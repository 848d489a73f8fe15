"""nbval runs the notebooks last, against a throw-away local database seeded with the demo profile, seed 42."""

from __future__ import annotations

from contextlib import ExitStack

import pytest

_stack = ExitStack()
_started: list[bool] = []


def _is_notebook_item(item: pytest.Item) -> bool:
    return type(item).__module__.startswith("nbval")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Notebooks after every other test, so DATABASE_URL is set for their kernels only."""
    items.sort(key=_is_notebook_item)  # stable: keeps each group's order


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before the first notebook's kernel starts: a fresh local server, migrated and seeded (demo, 42)."""
    if not _is_notebook_item(item) or _started:
        return
    from opentier_explore.prepare import throwaway
    from opentier_explore.report import database_env

    _started.append(True)
    # The stored outputs are demo/42's, never a user's database: DATABASE_URL is replaced, then restored.
    _stack.enter_context(database_env(_stack.enter_context(throwaway())))


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop and delete the notebooks' server."""
    _stack.close()
