"""What a notebook hands the tree metrics: the message edges loaded into pandas, or — under `$OPENTIER_ENGINE_ONLY`
(a database too big for the kernel's memory) — the Engine itself, so every metric runs inside PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence

from .. import config
from ._edges import EDGE_COLUMNS, TABLE, message_edges
from ._source import Source, is_engine, query


def edges_source(engine, extra: Sequence[str] = ("role",)) -> Source:
    """`{"chat_messages": message_edges(engine, extra)}` for the pandas paths, or `engine` when engine_only() is set."""
    if config.engine_only():
        return engine
    return {TABLE: message_edges(engine, extra=extra)}


def edges_shape(src: Source, extra: Sequence[str] = ("role",)) -> tuple[int, int]:
    """(rows, columns) of the message edges: the loaded frame's shape, or on an Engine the same counted in SQL."""
    if not is_engine(src):
        return src[TABLE].shape
    n = int(query(src, f'SELECT count(*) AS n FROM "{TABLE}"')["n"].iloc[0])
    return n, len(EDGE_COLUMNS) + len([c for c in extra if c not in EDGE_COLUMNS])


__all__ = ["edges_source", "edges_shape"]
