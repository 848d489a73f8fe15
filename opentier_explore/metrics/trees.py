"""Conversation trees of chat_messages: shape per conversation, and the data faults that break trees.

Conventions (both paths follow them exactly):
- A *tree edge* links a message to its parent when the parent exists **in the same conversation**.
  A message whose parent is missing (`missing_parent`) or lives in another conversation
  (`cross_conversation_parent`) has no tree edge: it is reported as a fault and heads a detached subtree.
- A *root* is a message with `parent_id` NULL; `n_roots` counts exactly those (faulty messages are not roots).
- Depth counts messages on the tree-edge path from a root, a root having depth 1. Messages that do
  not reach a root (under a faulty message, on a parent cycle, or under one) have no depth;
  `max_depth` is the maximum over the messages that do, and missing (<NA>) when none does.
- Children are counted along tree edges only: `n_leaves` = messages with no children,
  `n_branch_points` = messages with ≥ 2 children, `max_children` = the largest number of children
  (0 for a single message). Messages on a cycle have their cycle successor as a child.
- `cycle` marks every message that lies on a parent cycle (following tree edges leads back to it);
  messages hanging below a cycle are not marked (they are simply unrooted).
- Edges come from `_edges`: without a `parent_id` column (the Feb-2026 generation) each conversation is the
  linear chain of its messages in `created_at`, then `id` order.
- A message has at most one fault. Conversations are those with at least one chat_message,
  indexed by `conversation_id` (text), sorted ascending; faults are sorted by conversation_id, message_id.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from .. import config
from ..snapshots import consistent
from . import _edges, _keys, _source, _trees_sql
from ._metric import Metric

__all__ = ["conversation_trees", "tree_faults", "message_depths", "tree_summary"]  # what metrics/__init__ exports

# ---- what it needs from the catalog ---------------------------------------------------------------------
#: chat_messages' edges (_edges): (id, conversation_id, parent_id), or (id, conversation_id, created_at) read as linear chains
NEEDS = {"chat_messages": _edges.EDGE_COLUMNS[:3]}

# ---- the result ------------------------------------------------------------------------------------------
FAULTS = ("cross_conversation_parent", "missing_parent", "cycle")
#: n_messages, n_roots, max_depth, n_leaves, n_branch_points, max_children: TREES' columns after conversation_id
TREE_COLUMNS = tuple(_trees_sql.TREES_TYPES)[1:]


def _walk_in_sql(
    engine, template: str, types: Mapping[str, str], metric: str, extra: tuple[str, ...] = (), parts: int = 1
) -> pd.DataFrame:
    """The statement `template` (_trees_sql; its result's column `types`) over the database's edges (and `extra`
    columns), in `parts` parts of the conversations at once, each on a connection of its own, its hash of them sized
    to stay in memory.

    A recursive walk runs in one server process: parts are how it uses more than one core.
    """
    edges = _edges.edges_sql(engine, metric, extra)
    columns = ("id", "conversation_id", "parent_id", *extra)
    rows, multiplier = _source.query(engine, _trees_sql.WALK_SIZES_SQL).iloc[0]
    statements = [_trees_sql.fill(template, _trees_sql.part(edges, i, parts, columns), columns) for i in range(parts)]
    settings = _trees_sql.walk_settings(rows / parts, multiplier)
    return pd.concat(_source.query_all(engine, statements, settings, types), ignore_index=True)


@consistent("src")
def conversation_trees(src: _source.Source) -> pd.DataFrame:
    """Per conversation: n_messages, n_roots, max_depth, n_leaves, n_branch_points, max_children (module docstring)."""
    if _source.is_engine(src):
        return _trees_frame(
            _walk_in_sql(
                src, _trees_sql.TREES, _trees_sql.TREES_TYPES, "conversation_trees", parts=config.TREE_WALK_PARTS
            )
        )
    walk = _Walk(_edges.edges_frame(src, "conversation_trees"))
    return walk.trees()


@consistent("src")
def tree_faults(src: _source.Source) -> pd.DataFrame:
    """One row per faulty message: message_id, conversation_id, fault (cross_conversation_parent, missing_parent or cycle)."""
    if _source.is_engine(src):
        return _faults_frame(
            _walk_in_sql(src, _trees_sql.FAULTS, _trees_sql.FAULTS_TYPES, "tree_faults", ("created_at",))
        )
    walk = _Walk(_edges.edges_frame(src, "tree_faults"))
    return walk.faults()


@consistent("src")
def message_depths(src: _source.Source) -> pd.Series:
    """Depth of every message that reaches a root (Int64, <NA> otherwise): indexed like chat_messages for frames, by id for an Engine."""
    if _source.is_engine(src):
        parts = _walk_in_sql(
            src, _trees_sql.DEPTHS, _trees_sql.DEPTHS_TYPES, "message_depths", parts=config.TREE_WALK_PARTS
        )
        return _depths_series(parts.sort_values("id", ignore_index=True))  # each part is in id order
    walk = _Walk(_edges.edges_frame(src, "message_depths"))
    depth = pd.array(np.where(walk.rooted, walk.dist + 1, 0), dtype="Int64")
    depth[~walk.rooted] = pd.NA
    return pd.Series(depth, index=walk.index, name="depth")


def tree_summary(src: _source.Source | pd.DataFrame) -> pd.Series:
    """Headline figures of the trees (of an Engine or frames, or a conversation_trees result): counts, depth and size quantiles."""
    trees = src if isinstance(src, pd.DataFrame) else conversation_trees(src)
    depth = trees["max_depth"].dropna().astype("float64")
    linear = (trees["n_branch_points"] == 0) & (trees["n_roots"] <= 1)
    return pd.Series(
        {
            "conversations": int(len(trees)),
            "linear_share": round(float(linear.mean()), 4) if len(trees) else float("nan"),
            "median_depth": float(depth.median()) if len(depth) else float("nan"),
            "p90_depth": float(depth.quantile(0.9)) if len(depth) else float("nan"),
            "max_depth": int(depth.max()) if len(depth) else 0,
            "median_messages": float(trees["n_messages"].median()) if len(trees) else float("nan"),
            "messages": int(trees["n_messages"].sum()),
        },
        dtype=object,
        name="value",
    )


# ---- in pandas -------------------------------------------------------------------------------------------
_ROW = np.int32  #: the dtype of row numbers and codes below 2**31 rows


class _Walk:
    """Vectorized analysis of the parent pointers: tree edges, pointer-jumping depths, cycles."""

    def __init__(self, df: pd.DataFrame) -> None:
        self.index = df.index
        ids, parent = _values(df["id"]), _values(df["parent_id"])  # Arrow strings stay in Arrow (_keys)
        n = len(ids)
        self.ids = ids
        row = _ROW if n < 2**31 else np.int64  # 4-byte rows: the random reads below touch half the cache lines
        with ThreadPoolExecutor(1) as pool:  # numpy and Arrow release the GIL: conversations on a second core
            convs = pool.submit(_keys.sorted_codes, _values(df["conversation_id"]))
            pidx = _keys.parent_rows(ids, parent).astype(row, copy=False)  # -1: NULL parent, -2: no such message
            codes, self.convs = convs.result()
        self.conv_codes = codes.astype(row, copy=False)
        self.has_parent = pidx != -1
        self.missing = pidx == -2
        linked = pidx >= 0
        self.cross = linked & (self.conv_codes[np.where(linked, pidx, 0)] != self.conv_codes)
        valid = linked & ~self.cross
        self.p = np.where(valid, pidx, row(-1))
        self.children = np.bincount(self.p[valid], minlength=n)
        self._jump(n, row)

    def _jump(self, n: int, row: type) -> None:
        is_top = self.p < 0
        nxt = np.where(is_top, np.arange(n, dtype=row), self.p)
        dist = (~is_top).astype(row)
        active = np.flatnonzero(~is_top)
        active = active[~is_top[nxt[active]]]
        # 2**rounds > n: every chain that ends at a top has reached it; what remains lies on or under a cycle.
        for _ in range(int(np.ceil(np.log2(n + 1))) + 1):
            if not active.size:
                break
            step = nxt[active]
            dist[active] += dist[step]
            nxt[active] = nxt[step]
            active = active[~is_top[nxt[active]]]
        done = is_top[nxt]
        self.dist = dist
        self.rooted = done & ~self.has_parent[nxt]
        on_cycle = np.zeros(n, bool)
        frontier = np.unique(nxt[active])  # after > n jumps, every unfinished pointer sits on a cycle
        while frontier.size:
            on_cycle[frontier] = True
            frontier = self.p[frontier]
            frontier = frontier[~on_cycle[frontier]]
        self.on_cycle = on_cycle

    def trees(self) -> pd.DataFrame:
        codes, k = self.conv_codes, len(self.convs)
        out = pd.DataFrame(index=pd.Index(self.convs, dtype="str", name="conversation_id"))
        out["n_messages"] = np.bincount(codes, minlength=k).astype(np.int64)
        out["n_roots"] = np.bincount(codes[~self.has_parent], minlength=k).astype(np.int64)
        depth = np.zeros(k, self.dist.dtype)  # ufunc.at is fast only when the values have the target's dtype
        np.maximum.at(depth, codes[self.rooted], self.dist[self.rooted] + 1)
        max_depth = pd.array(depth.astype(np.int64), dtype="Int64")
        max_depth[depth == 0] = pd.NA
        out["max_depth"] = max_depth
        out["n_leaves"] = np.bincount(codes[self.children == 0], minlength=k).astype(np.int64)
        out["n_branch_points"] = np.bincount(codes[self.children >= 2], minlength=k).astype(np.int64)
        most = np.zeros(k, self.children.dtype)
        np.maximum.at(most, codes, self.children)
        out["max_children"] = most
        return out

    def faults(self) -> pd.DataFrame:
        kind = np.full(len(self.ids), -1, dtype=np.int8)  # an index into FAULTS; later kinds win, as they always did
        kind[self.cross] = 0
        kind[self.missing] = 1
        kind[self.on_cycle] = 2
        hit = np.flatnonzero(kind >= 0)
        return _faults_frame(
            pd.DataFrame(
                {
                    "message_id": np.asarray(self.ids[hit], dtype=object),
                    "conversation_id": np.asarray(self.convs[self.conv_codes[hit]], dtype=object),
                    "fault": np.asarray(FAULTS, dtype=object)[kind[hit]],
                }
            )
        )


def _values(col: pd.Series):
    """The column's Arrow-backed string array as it is, or its values as an object array."""
    if isinstance(col.dtype, pd.StringDtype) and col.dtype.storage == "pyarrow":
        return col.array
    return col.astype(object).to_numpy()


# ---- the assembly of the result --------------------------------------------------------------------------
def _trees_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """The SQL result in the pandas path's shape and dtypes."""
    if rows.empty:
        rows = pd.DataFrame({c: pd.Series(dtype=object) for c in ("conversation_id", *TREE_COLUMNS)})
    out = rows.set_index(rows["conversation_id"].astype("str")).drop(columns="conversation_id")
    out.index.name = "conversation_id"
    for col in TREE_COLUMNS:
        out[col] = out[col].astype("Int64" if col == "max_depth" else np.int64)
    return out[list(TREE_COLUMNS)].sort_index()


def _faults_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """Fault rows sorted by conversation_id, message_id, with `fault` a Categorical of the three names."""
    if rows.empty:
        rows = pd.DataFrame({c: pd.Series(dtype=object) for c in ("message_id", "conversation_id", "fault")})
    out = pd.DataFrame(
        {
            "message_id": rows["message_id"].astype("str"),
            "conversation_id": rows["conversation_id"].astype("str"),
            "fault": pd.Categorical(rows["fault"], categories=list(FAULTS)),
        }
    )
    return out.sort_values(["conversation_id", "message_id"], kind="stable").reset_index(drop=True)


def _depths_series(rows: pd.DataFrame) -> pd.Series:
    """The SQL depths as an Int64 Series indexed by message id (text)."""
    depth = pd.array(rows["depth"].astype("Float64") if len(rows) else [], dtype="Int64")
    return pd.Series(
        depth, index=pd.Index(rows["id"].astype("str") if len(rows) else [], dtype="str", name="id"), name="depth"
    )


def _depths_by_id(depths: pd.Series, frames: Mapping[str, pd.DataFrame] | None) -> pd.Series:
    """message_depths indexed by message id in id order, as the SQL path returns it (the frames' rows carry the ids)."""
    if frames is not None:
        ids = frames["chat_messages"]["id"].astype("str").to_numpy()
        depths = depths.set_axis(pd.Index(ids, dtype="str", name="id"))
    return depths.sort_index()


# ---- registration ----------------------------------------------------------------------------------------
METRICS = (
    Metric("conversation_trees", conversation_trees, NEEDS),
    Metric("tree_faults", tree_faults, NEEDS),
    Metric("message_depths", message_depths, NEEDS, comparable=_depths_by_id),
    Metric("tree_summary", tree_summary, NEEDS),
)
