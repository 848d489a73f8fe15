"""Figure helpers for the notebooks: matplotlib, titled and labelled, each returning what it drew on.

Single-panel helpers take an optional `ax` and return the Axes; `latency` draws two panels and
returns the Figure. None of them calls `plt.show()`: end the notebook cell with `;` or `plt.show()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .metrics import ModerationLatency, SessionChurn

_SIZE = (7.5, 4.0)
_COLOR = "#3b6ea8"
_ACCENT = "#c8553d"


def _axes(ax: Axes | None, size=_SIZE) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=size, layout="constrained")
    _register_figure_text()
    return ax


def _style(ax: Axes, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, axis="y", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)


def tree_depths(trees: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Bar chart: number of conversations by maximum depth (conversations without a rooted message left out)."""
    ax = _axes(ax)
    counts = trees["max_depth"].dropna().astype(np.int64).value_counts().sort_index()
    ax.bar(counts.index.to_numpy(), counts.to_numpy(), color=_COLOR, width=0.8)
    if 0 < len(counts) <= 20:
        ax.set_xticks(counts.index.to_numpy())
    else:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(left=0)
    _style(ax, "Conversation depth", "maximum depth (messages on the longest root path)", "conversations")
    return ax


def latency(mod: ModerationLatency, bins: int = 30) -> Figure:
    """Two panels: the distribution of review latencies (hours), and the Kaplan-Meier time-to-review curve with its median."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, 4.0), layout="constrained")
    _register_figure_text()
    life = mod.life_table
    hours = life.index.total_seconds().to_numpy() / 3600.0
    observed = life["observed"].to_numpy()
    if observed.sum():
        left.hist(hours[observed > 0], bins=bins, weights=observed[observed > 0], color=_COLOR)
    for label, value in mod.percentiles.items():
        if not pd.isna(value):
            left.axvline(value.total_seconds() / 3600.0, color=_ACCENT, linestyle="--", linewidth=1)
            left.annotate(
                label,
                (value.total_seconds() / 3600.0, 1),
                xycoords=("data", "axes fraction"),
                xytext=(2, -12),
                textcoords="offset points",
                color=_ACCENT,
                fontsize=8,
            )
    _style(left, "Review latency of reviewed submissions", "hours from submission to review", "submissions")
    curve = mod.km_curve
    right.step(
        curve.index.total_seconds().to_numpy() / 3600.0,
        curve.to_numpy(),
        where="post",
        color=_COLOR,
        label="Kaplan-Meier (pending = censored)",
    )
    if not pd.isna(mod.km_median):
        right.axvline(
            mod.km_median.total_seconds() / 3600.0,
            color=_ACCENT,
            linestyle="--",
            linewidth=1,
            label=f"median {mod.km_median.total_seconds() / 3600.0:.1f} h",
        )
    right.set_ylim(0, 1.02)
    right.legend(loc="upper right", frameon=False)
    _style(right, "Time to review", "hours since submission", "share still waiting")
    return fig


def backlog(mod: ModerationLatency, ax: Axes | None = None) -> Axes:
    """Line: pending submissions at each week's end."""
    ax = _axes(ax)
    series = mod.backlog
    ax.plot(series.index.tz_convert(None), series.to_numpy(), marker="o", markersize=3, color=_COLOR)
    ax.set_ylim(bottom=0)
    _style(ax, "Moderation backlog", "week end (UTC)", "pending submissions")
    ax.figure.autofmt_xdate()
    return ax


def cohort_heatmap(churn: SessionChurn, ax: Axes | None = None) -> Axes:
    """Heatmap: share of each weekly signup cohort active k weeks after signup (blank = not observable)."""
    ax = _axes(ax, size=(8.0, 6.0))
    grid = churn.cohort_retention
    data = np.ma.masked_invalid(grid.to_numpy(float))
    image = ax.imshow(data, aspect="auto", cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, label="share of cohort active")
    labels = [t.strftime("%Y-%m-%d") for t in grid.index]
    step = max(1, len(labels) // 12)
    ax.set_yticks(np.arange(0, len(labels), step), labels[::step])
    _style(ax, "Retention by weekly signup cohort", "weeks after signup week", "signup week (Monday, UTC)")
    ax.grid(False)
    return ax


def weekly_actives(churn: SessionChurn, ax: Axes | None = None, with_churn_rate: bool = True) -> Axes:
    """Line: weekly active users; with `with_churn_rate`, the churn rate at each week's end on a second axis."""
    ax = _axes(ax)
    weekly = churn.weekly_active
    what = "asked a question" if churn.activity == "chat" else "signed in"
    ax.plot(
        weekly.index.tz_convert(None),
        weekly.to_numpy(dtype=float, na_value=np.nan),
        color=_COLOR,
        label=f"weekly active users ({what}; gaps: not observable)",
    )
    ax.set_ylim(bottom=0)
    _style(ax, "Weekly active users", "week (Monday, UTC)", "active users")
    if with_churn_rate:
        twin = ax.twinx()
        rate = churn.churn_rate["churn_rate"]
        twin.plot(
            rate.index.tz_convert(None),
            rate.to_numpy(),
            color=_ACCENT,
            linestyle="--",
            label=f"churn rate ({churn.window}-day window)",
        )
        twin.set_ylim(0, 1)
        twin.set_ylabel("share of users seen so far who churned")
        twin.spines[["top"]].set_visible(False)
        lines = ax.get_lines() + twin.get_lines()
        ax.legend(lines, [line.get_label() for line in lines], loc="upper left", frameon=False)
    ax.figure.autofmt_xdate()
    return ax


def sessions_per_user(churn: SessionChurn, ax: Axes | None = None, max_sessions: int = 30) -> Axes:
    """Bar chart: number of users by sessions per user in the sessions table (the last bar gathers `max_sessions` and more)."""
    return _per_user_bars(churn.sessions_per_user, ax, max_sessions, "Sessions per user", "sessions")


def activity_per_user(churn: SessionChurn, ax: Axes | None = None, max_events: int = 30) -> Axes:
    """Bar chart: number of users by questions (or logins) per user (the last bar gathers `max_events` and more)."""
    noun = "questions" if churn.activity == "chat" else "sessions"
    return _per_user_bars(churn.activity_per_user, ax, max_events, f"{noun.capitalize()} per user", noun)


def _per_user_bars(per_user: pd.Series, ax, cap: int, title: str, noun: str) -> Axes:
    ax = _axes(ax)
    counts = per_user.clip(upper=cap).value_counts().sort_index()
    ax.bar(counts.index.to_numpy(), counts.to_numpy(), color=_COLOR, width=0.8)
    _style(ax, title, f"{noun} up to as_of ({cap} = {cap} or more)", "users")
    return ax


def table_sizes(sizes: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Horizontal bars: rows per table (log scale), largest on top; `sizes` as `tour.table_sizes` returns it."""
    ax = _axes(ax, size=(7.5, 4.5))
    ordered = sizes["rows"].sort_values()
    ax.barh(ordered.index.tolist(), ordered.clip(lower=1).to_numpy(), color=_COLOR)
    ax.set_xscale("log")
    _style(ax, "Rows per table", "rows (log scale)", "table")
    ax.grid(True, axis="x", alpha=0.3)
    ax.grid(False, axis="y")
    return ax


def monthly_messages(monthly: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Lines: rows written per month to chat_messages and to messages; `monthly` as `tour.monthly_messages` returns it."""
    ax = _axes(ax)
    x = np.arange(len(monthly))
    ax.plot(
        x,
        monthly["chat_messages"].to_numpy(),
        marker="o",
        markersize=3,
        color=_COLOR,
        label="chat_messages (Intelligence)",
    )
    ax.plot(x, monthly["messages"].to_numpy(), marker="o", markersize=3, color=_ACCENT, label="messages (Rust API)")
    step = max(1, len(x) // 12)
    ax.set_xticks(x[::step], monthly.index[::step].tolist(), rotation=45, ha="right")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", frameon=False)
    _style(ax, "Rows written per month to the two message tables", "month (UTC)", "rows")
    return ax


def _figure_text(fig, printer, cycle) -> None:
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    printer.text(f"[figure: {' | '.join(titles) or 'untitled'}]")


def _register_figure_text() -> None:
    """In IPython, show a figure's plain-text form as its titles, not matplotlib's version-dependent repr.

    Called after each figure is created: activating the inline backend drops every
    formatter registered for Figure before it.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    from matplotlib.figure import Figure

    shell.display_formatter.formatters["text/plain"].for_type(Figure, _figure_text)
