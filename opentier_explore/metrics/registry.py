"""Every metric of the kit, in one place: the `METRICS` each public module of this package declares at its end.

`metrics/__init__`, the tests (both paths on the hand-worked cases and on seeded data) and `bench/metrics.py`
iterate over `METRICS`; a new module with a `METRICS` tuple is found without being listed anywhere.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from ._metric import Metric

__all__ = ["Metric", "METRICS", "BY_NAME", "modules"]


def modules() -> list[ModuleType]:
    """The package's metric modules (public ones, declaring METRICS), in name order."""
    package = __name__.rpartition(".")[0]
    found = []
    for info in sorted(pkgutil.iter_modules(importlib.import_module(package).__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name in ("registry", "compare"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        if hasattr(module, "METRICS"):
            found.append(module)
    return found


METRICS: tuple[Metric, ...] = tuple(m for module in modules() for m in module.METRICS)
BY_NAME: dict[str, Metric] = {m.name: m for m in METRICS}
