"""The one source of the conversation trees' edges, (id, conversation_id, parent_id, created_at), for every tree metric.

A database of the Feb-2026 generation has no `chat_messages.parent_id`: branching is not recorded there.
Each conversation is then the linear chain the services wrote: its messages ordered by `created_at`, then
`id` (PostgreSQL's uuid order, which is the order of the lowercase text form), each message's parent being
the one before it (`lag(id)` over the conversation). So depth = number of messages, and no branch points.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import SchemaError
from . import _source

TABLE = "chat_messages"
EDGE_COLUMNS = ("id", "conversation_id", "parent_id", "created_at")

_SYNTHESIZED = (
    "(SELECT id, conversation_id, lag(id) OVER (PARTITION BY conversation_id ORDER BY created_at, id) AS parent_id, "
    "created_at{extra} FROM chat_messages)"
)


def _no_order(metric: str) -> SchemaError:
    return SchemaError(
        f"{metric} needs column 'parent_id' of table 'chat_messages', or at least 'created_at' to read each conversation "
        f"as the linear chain of its messages, and this database has neither: it is not OpenTier's schema."
    )


def has_parent_id(engine) -> bool:
    """True when the database records branching (chat_messages has parent_id); False for the Feb-2026 generation."""
    from .. import reflect

    tables = reflect.catalog(engine, only=TABLE)
    return TABLE in tables and "parent_id" in tables[TABLE].column_names


def edges_sql(engine, metric: str, extra: Sequence[str] = ()) -> str:
    """A FROM item with the edges (and `extra` columns): `chat_messages` itself, or a subquery synthesizing parent_id."""
    from .. import reflect

    tables = reflect.catalog(engine, only=TABLE)
    columns = set(tables[TABLE].column_names) if TABLE in tables else set()
    if "parent_id" in columns:
        _source.check_sql(engine, {TABLE: ("id", "conversation_id", "parent_id", *extra)}, metric)
        return TABLE
    if TABLE in tables and "created_at" not in columns:
        raise _no_order(metric)
    _source.check_sql(engine, {TABLE: ("id", "conversation_id", "created_at", *extra)}, metric)
    return _SYNTHESIZED.format(extra="".join(f", {reflect.quote_ident(c)}" for c in extra if c != "created_at"))


def linear_parents(df: pd.DataFrame) -> np.ndarray:
    """parent_id of each row (object array, None for a conversation's first message) when conversations are linear."""
    n = len(df)
    order = pd.DataFrame(
        {
            "conv": df["conversation_id"].astype(str).to_numpy(),
            "t": _source.utc(df["created_at"]).to_numpy(),
            "id": df["id"].astype(str).to_numpy(),
            "pos": np.arange(n),
        }
    ).sort_values(["conv", "t", "id"], kind="mergesort")
    ids = df["id"].to_numpy(dtype=object)[order["pos"].to_numpy()]
    first = np.ones(n, bool)
    first[1:] = order["conv"].to_numpy()[1:] != order["conv"].to_numpy()[:-1]
    prev = np.empty(n, dtype=object)
    if n:
        prev[1:] = ids[:-1]
    prev[first] = None
    parents = np.empty(n, dtype=object)
    parents[order["pos"].to_numpy()] = prev
    return parents


def edges_frame(src: Mapping[str, pd.DataFrame], metric: str, extra: Sequence[str] = ()) -> pd.DataFrame:
    """`src['chat_messages']` as id, conversation_id, parent_id (synthesized when the frame lacks it), then `extra`."""
    if TABLE in src and "parent_id" not in src[TABLE].columns:
        if "created_at" not in src[TABLE].columns:
            raise _no_order(metric)
        df = _source.frame(src, TABLE, ("id", "conversation_id", "created_at", *extra), metric)
        out = df[["id", "conversation_id"]].copy()
        out["parent_id"] = linear_parents(df)
        for col in extra:
            out[col] = df[col]
        return out
    return _source.frame(src, TABLE, ("id", "conversation_id", "parent_id", *extra), metric)


def message_edges(engine, extra: Sequence[str] = ("role",)) -> pd.DataFrame:
    """chat_messages loaded as id, conversation_id, parent_id, `extra`, created_at; parent_id synthesized when absent."""
    from ..loading import load

    extra = [c for c in extra if c not in EDGE_COLUMNS]
    if has_parent_id(engine):
        return load(TABLE, engine=engine, columns=["id", "conversation_id", "parent_id", *extra, "created_at"])
    edges_sql(engine, "message_edges", extra)  # one SchemaError naming what is missing, if anything
    df = load(TABLE, engine=engine, columns=["id", "conversation_id", *extra, "created_at"])
    df.insert(2, "parent_id", pd.Series(linear_parents(df), index=df.index, dtype=object))
    return df
