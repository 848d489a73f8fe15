"""Hand-built data for the metric tests, with answers worked out by hand; usable as frames or inserted into a database.

One module per block of cases (trees, moderation, churn, branching), each ending with `CASES`; the same rows feed
the pandas path (`Case.frames`) and the Engine path (`Case.insert` into a migrated database), so both paths are
held to the same hand-computed answers (`Case.check`). `CASES` here gathers every module's; each module's
public names are also reachable here (`metric_cases.T0`, `metric_cases.assert_trees`, …).
"""

from __future__ import annotations

import importlib
import pkgutil

from ._common import Case

CASES: tuple[Case, ...] = ()
for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name.startswith("_"):
        continue
    _module = importlib.import_module(f"{__name__}.{_info.name}")
    CASES += _module.CASES
    globals().update({k: v for k, v in vars(_module).items() if not k.startswith("_") and k != "CASES"})
