"""Plots of a source database beside its synthetic twin (notebook 04): the shapes behind `fidelity`'s numbers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import sqlalchemy
    from matplotlib.figure import Figure

_COLORS = {"source": "#1f77b4", "twin": "#ff7f0e"}


@dataclass(frozen=True)
class Shapes:
    """What the comparison plots draw, for one database."""

    signups: pd.Series  # week_start → sign-ups
    roles: pd.Series  # role → share
    trees: pd.DataFrame  # conversation_trees
    kinds: pd.Series  # branch kind → branch points
    km_curve: pd.Series  # hours → survival
    backlog: pd.Series  # week_end → pending
    weekly_active: pd.Series
    retention: pd.Series  # week offset → cohort-weighted share


def shapes(src: sqlalchemy.Engine | str) -> Shapes:
    """The plotted aggregates of one database (an Engine or a URL), computed inside PostgreSQL."""
    from . import metrics
    from .db import connect

    engine = connect(src) if isinstance(src, str) else src
    users = metrics._source.query(
        engine,
        "SELECT date_trunc('week', created_at AT TIME ZONE 'UTC') AS week, "
        "role::text AS role, count(*) AS n FROM users GROUP BY 1, 2 ORDER BY 1, 2",
    )
    mod = metrics.moderation_latency(engine)
    churn = metrics.session_churn(engine)
    ret, sizes = churn.cohort_retention, churn.cohort_sizes.reindex(churn.cohort_retention.index).astype(float)
    weighted = {k: float((ret[k] * sizes)[ret[k].notna()].sum() / sizes[ret[k].notna()].sum()) for k in ret.columns}
    km = mod.km_curve.copy()
    km.index = pd.to_timedelta(km.index).total_seconds() / 3600.0  # durations (Timedelta or ns) → hours
    return Shapes(
        signups=users.groupby("week")["n"].sum(),
        roles=users.groupby("role")["n"].sum() / users["n"].sum(),
        trees=metrics.conversation_trees(engine),
        kinds=metrics.branch_kinds(engine)["branch_points"],
        km_curve=km,
        backlog=mod.backlog,
        weekly_active=churn.weekly_active,
        retention=pd.Series(weighted).sort_index(),
    )


def _bars(ax, a: pd.Series, b: pd.Series, title: str, ylabel: str) -> None:
    labels = list(dict.fromkeys(list(a.index) + list(b.index)))
    x = np.arange(len(labels))
    ax.bar(x - 0.2, a.reindex(labels).fillna(0), 0.4, label="source", color=_COLORS["source"])
    ax.bar(x + 0.2, b.reindex(labels).fillna(0), 0.4, label="twin", color=_COLORS["twin"])
    ax.set_xticks(x, [str(s).replace("_", " ") for s in labels], rotation=20, fontsize=7)
    ax.set_title(title, fontsize=9)
    ax.set_ylabel(ylabel, fontsize=8)


def _hist(ax, a: pd.Series, b: pd.Series, title: str, xlabel: str, top: int = 40) -> None:
    bins = np.arange(1, top + 2)
    for name, s in (("source", a), ("twin", b)):
        ax.hist(s.clip(upper=top), bins=bins, histtype="step", density=True, label=name, color=_COLORS[name])
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(xlabel, fontsize=8)


def _lines(ax, a: pd.Series, b: pd.Series, title: str, xlabel: str, **kw) -> None:
    for name, s in (("source", a), ("twin", b)):
        ax.plot(s.index, s.to_numpy(), label=name, color=_COLORS[name], **kw)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.tick_params(labelsize=7)


def figure(source: Shapes, twin: Shapes) -> Figure:
    """A 3 × 3 grid: sign-ups, roles, conversation length and depth, branch kinds, Kaplan-Meier, backlog,
    weekly actives, cohort retention — source and twin on each panel."""
    import matplotlib.pyplot as plt

    from . import plots

    fig, axes = plt.subplots(3, 3, figsize=(13, 10))
    a = axes.ravel()
    _lines(a[0], source.signups.cumsum(), twin.signups.cumsum(), "Users signed up (cumulative)", "week")
    _bars(a[1], source.roles, twin.roles, "Role shares", "share of users")
    _hist(a[2], source.trees["n_messages"], twin.trees["n_messages"], "Messages per conversation", "messages")
    _hist(a[3], source.trees["max_depth"].dropna(), twin.trees["max_depth"].dropna(), "Conversation depth", "depth")
    _bars(
        a[4],
        source.kinds / max(source.kinds.sum(), 1),
        twin.kinds / max(twin.kinds.sum(), 1),
        "Branch points by kind",
        "share",
    )
    _lines(
        a[5], source.km_curve, twin.km_curve, "Kaplan-Meier: still waiting for review", "hours", drawstyle="steps-post"
    )
    a[5].set_xscale("symlog", linthresh=1)
    _lines(a[6], source.backlog, twin.backlog, "Pending submissions at week end", "week")
    _lines(a[7], source.weekly_active, twin.weekly_active, "Weekly active users", "week")
    _lines(
        a[8], source.retention, twin.retention, "Cohort retention (size-weighted)", "weeks after sign-up", marker="."
    )
    for ax in a:
        ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    plots._register_figure_text()
    return fig
