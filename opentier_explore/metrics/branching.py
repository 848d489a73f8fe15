"""Why conversations branch: regenerated answers versus edited questions.

Conventions (both paths follow them exactly):
- A *branch point* is a message with ≥ 2 children in its own conversation; its children are the
  alternatives the user created. It is a `regenerated_answer` when every child is an 'assistant'
  message, an `edited_question` when every child is a 'user' message, `mixed` otherwise.
- A conversation with k ≥ 2 roots (parent_id NULL) counts as one `edited_first_question` branch
  point with k alternatives: the user rewrote the opening question.
- Without `parent_id` (the Feb-2026 generation) conversations are linear chains (`_edges`): no branch points.
- `alternatives` counts the children (or roots) at those branch points, first attempts included.
"""

from __future__ import annotations

import pandas as pd

from ..snapshots import consistent
from . import _edges, _source
from ._metric import Metric

__all__ = ["branch_kinds"]  # what metrics/__init__ exports

# ---- what it needs from the catalog ---------------------------------------------------------------------
#: chat_messages' edges (_edges) and role
NEEDS = {"chat_messages": (*_edges.EDGE_COLUMNS[:3], "role")}

# ---- the result ------------------------------------------------------------------------------------------
KINDS = ("regenerated_answer", "edited_question", "edited_first_question", "mixed")


@consistent("src")
def branch_kinds(src: _source.Source) -> pd.DataFrame:
    """Branch points and their alternatives by kind (regenerated answer, edited question, …); module docstring."""
    if _source.is_engine(src):
        return _assemble(_source.query(src, SQL.replace("{edges}", _edges.edges_sql(src, "branch_kinds", ("role",)))))
    return _assemble(_from_frames(_edges.edges_frame(src, "branch_kinds", extra=("role",))))


# ---- in PostgreSQL: one statement ({edges}: chat_messages, or its linear chains, from _edges) ---------------
SQL = """
WITH kids AS (
    SELECT c.parent_id, count(*) AS n,
           bool_and(c.role = 'assistant') AS all_assistant, bool_and(c.role = 'user') AS all_user
    FROM {edges} c JOIN {edges} p ON p.id = c.parent_id AND p.conversation_id = c.conversation_id
    GROUP BY c.parent_id HAVING count(*) >= 2
), roots AS (
    SELECT conversation_id, count(*) AS n FROM {edges} AS m WHERE parent_id IS NULL
    GROUP BY conversation_id HAVING count(*) >= 2
)
SELECT CASE WHEN all_assistant THEN 'regenerated_answer' WHEN all_user THEN 'edited_question' ELSE 'mixed' END AS kind,
       count(*) AS branch_points, sum(n) AS alternatives
FROM kids GROUP BY 1
UNION ALL
SELECT 'edited_first_question', count(*), coalesce(sum(n), 0) FROM roots
"""


# ---- in pandas -------------------------------------------------------------------------------------------
def _from_frames(chat: pd.DataFrame) -> pd.DataFrame:
    """kind, branch_points, alternatives from the edges frame (pandas)."""
    ids = chat["id"].astype(str)
    conv_of = pd.Series(chat["conversation_id"].astype(str).to_numpy(), index=ids.to_numpy())
    child = chat[chat["parent_id"].notna()]
    same = (
        conv_of.reindex(child["parent_id"].astype(str).to_numpy()).to_numpy()
        == child["conversation_id"].astype(str).to_numpy()
    )
    child = child[same]
    grouped = (
        child.assign(
            is_assistant=child["role"].astype(str).eq("assistant"), is_user=child["role"].astype(str).eq("user")
        )
        .groupby(child["parent_id"].astype(str))
        .agg(n=("id", "size"), all_assistant=("is_assistant", "all"), all_user=("is_user", "all"))
    )
    grouped = grouped[grouped["n"] >= 2]
    kind = pd.Series("mixed", index=grouped.index)
    kind[grouped["all_user"]] = "edited_question"
    kind[grouped["all_assistant"]] = "regenerated_answer"
    kids = (
        grouped.assign(kind=kind)
        .groupby("kind")
        .agg(branch_points=("n", "size"), alternatives=("n", "sum"))
        .reset_index()
    )
    roots = chat[chat["parent_id"].isna()].groupby(chat["conversation_id"].astype(str)).size()
    roots = roots[roots >= 2]
    first = pd.DataFrame(
        {"kind": ["edited_first_question"], "branch_points": [len(roots)], "alternatives": [int(roots.sum())]}
    )
    return pd.concat([kids, first], ignore_index=True)


# ---- the assembly of the result --------------------------------------------------------------------------
def _assemble(raw: pd.DataFrame) -> pd.DataFrame:
    """Every kind, in KINDS order, with int64 counts (0 where none)."""
    out = pd.DataFrame(index=pd.Index(KINDS, name="kind"), columns=["branch_points", "alternatives"], dtype="int64")
    out[:] = 0
    if len(raw):
        raw = raw.groupby("kind")[["branch_points", "alternatives"]].sum()
        out.loc[raw.index, ["branch_points", "alternatives"]] = raw.to_numpy(dtype="int64")
    return out.astype("int64")


# ---- registration ----------------------------------------------------------------------------------------
METRICS = (Metric("branch_kinds", branch_kinds, NEEDS),)
