"""The kit's metrics, each computed inside PostgreSQL (given an Engine) or in pandas (given loaded frames).

`src` is either a SQLAlchemy Engine from `connect()` or a mapping of table name to DataFrame as
`load_all()` returns it; both paths return equal results. Each module's docstring states its conventions.
"""

from __future__ import annotations

from ._edges import has_parent_id, message_edges
from .branching import branch_kinds, tree_summary
from .churn import SessionChurn, session_churn
from .moderation import ModerationLatency, moderation_latency
from .signed_in import NO_AGENT, SignedIn, signed_in
from .trees import conversation_trees, message_depths, tree_faults

__all__ = [
    "conversation_trees",
    "tree_faults",
    "message_edges",
    "has_parent_id",
    "message_depths",
    "tree_summary",
    "branch_kinds",
    "moderation_latency",
    "ModerationLatency",
    "session_churn",
    "SessionChurn",
    "signed_in",
    "SignedIn",
    "NO_AGENT",
]
