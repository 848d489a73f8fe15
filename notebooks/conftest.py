"""nbval runs the notebooks last, against a throw-away local database seeded with the demo profile, seed 42."""

from __future__ import annotations

import os
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

    _started.append(True)
    previous = os.environ.get("DATABASE_URL")  # the stored outputs are demo/42's, never a user's database
    os.environ["DATABASE_URL"] = _stack.enter_context(throwaway())
    _stack.callback(_restore, previous)


def _restore(previous: str | None) -> None:
    if previous is None:
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = previous


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop and delete the notebooks' server."""
    _stack.close()
