"""The kit's metrics, each computed inside PostgreSQL (given an Engine) or in pandas (given loaded frames).

`src` is either a SQLAlchemy Engine from `connect()` or a mapping of table name to DataFrame as
`load_all()` returns it; both paths return equal results. Each module's docstring states its conventions.
`edges_source` gives a notebook the message edges in pandas, or the Engine itself under `$OPENTIER_ENGINE_ONLY`.
This package exports every registered metric (`registry.METRICS`) with the names its module lists in `__all__`.
"""

from __future__ import annotations

from . import compare, registry
from ._edges import has_parent_id, message_edges
from ._engine_only import edges_shape, edges_source
from .registry import METRICS

__all__ = ["METRICS", "compare", "registry", "message_edges", "has_parent_id", "edges_source", "edges_shape"]
for _module in registry.modules():
    globals().update({name: getattr(_module, name) for name in _module.__all__})
    __all__ += _module.__all__
del _module
