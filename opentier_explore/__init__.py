"""opentier-explore: explore the OpenTier database in pandas and Jupyter."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

# platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); the embedded server copes.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR", module="platformdirs")
try:
    from platformdirs.api import RuntimeDirWarning as _RDW  # type: ignore[attr-defined]

    warnings.filterwarnings("ignore", category=_RDW)
except ImportError:  # older platformdirs
    pass

from .errors import OpentierError  # noqa: E402
from .version import __version__  # noqa: E402

if TYPE_CHECKING:
    from . import metrics
    from .db import connect
    from .loading import load, load_all
    from .prepare import require_data
    from .snapshots import Snapshot, snapshot

#: The public names imported on first use (module, or None for a submodule itself): `opentier-explore seed` and
#: `migrate` then start without pandas, SQLAlchemy and pyarrow (about a second).
_LAZY = {
    "connect": "db",
    "load": "loading",
    "load_all": "loading",
    "require_data": "prepare",
    "snapshot": "snapshots",
    "Snapshot": "snapshots",
    "metrics": None,
    "plots": None,
}

__all__ = [
    "connect",
    "load",
    "load_all",
    "metrics",
    "require_data",
    "snapshot",
    "Snapshot",
    "OpentierError",
    "__version__",
]


def load_ipython_extension(shell) -> None:  # shell: the IPython InteractiveShell
    """`%load_ext opentier_explore`: readable tables, and `%sql` read-only on the notebook's database."""
    from .notebook import load as _load

    _load(shell)


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'opentier_explore' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(f"{__name__}.{_LAZY[name] or name}")
    value = module if _LAZY[name] is None else getattr(module, name)
    globals()[name] = value
    return value
