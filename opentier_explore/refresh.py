"""Refreshing the notebooks' stored outputs: re-executed in place on a throw-away demo database, as nbval checks them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .execute import database_env, notebooks, run


def strip_volatile(nb) -> None:
    """Drop metadata that changes from run to run or machine to machine; outputs stay."""
    nb.metadata.pop("widgets", None)
    nb.metadata.get("language_info", {}).pop("version", None)
    for cell in nb.cells:
        for key in ("execution", "collapsed", "scrolled"):
            cell.metadata.pop(key, None)


def refresh(names: Sequence[str] | None = None) -> list[Path]:
    """Re-execute notebooks in place against a throw-away demo database (the demo profile and seed), as nbval checks them."""
    import nbformat

    from .prepare import throwaway

    paths = notebooks(names)
    with throwaway() as url, database_env(url):
        for path in paths:
            print(f"refreshing {path.name}…", flush=True)
            nb = run(path)
            strip_volatile(nb)
            nbformat.write(nb, path)
    return paths
