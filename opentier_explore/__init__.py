"""opentier-explore: explore the OpenTier database in pandas and Jupyter."""

from __future__ import annotations

import warnings

# platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); the embedded server copes.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR", module="platformdirs")
try:
    from platformdirs.api import RuntimeDirWarning as _RDW  # type: ignore[attr-defined]

    warnings.filterwarnings("ignore", category=_RDW)
except ImportError:  # older platformdirs
    pass

from .db import connect  # noqa: E402
from .errors import OpentierError  # noqa: E402
from .load import load, load_all  # noqa: E402  (binds the functions over the submodule's name)
from .prepare import require_data  # noqa: E402
from .snapshots import Snapshot, snapshot  # noqa: E402
from .version import __version__  # noqa: E402

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
    # metrics and plots pull in matplotlib: imported on first use.
    if name in ("metrics", "plots"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'opentier_explore' has no attribute {name!r}")
