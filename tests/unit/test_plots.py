"""The figure helpers draw the expected artists (Agg backend) on the hand-built metric results."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import metric_cases as mc  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from opentier_explore import metrics, plots  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _bars(ax):
    return [p for p in ax.patches if isinstance(p, Rectangle)]


def test_tree_depths_one_bar_per_depth():
    ax = plots.tree_depths(metrics.conversation_trees(mc.tree_frames()))
    assert ax.get_title() == "Conversation depth" and ax.get_ylabel() == "conversations" and ax.get_xlabel()
    bars = _bars(ax)
    # max_depth values 4, 7, 3, 1, 2, 2, 1 (conversation 8 has none): depths 1, 2, 3, 4, 7
    assert sorted((round(b.get_x() + b.get_width() / 2), b.get_height()) for b in bars) == [
        (1, 2),
        (2, 2),
        (3, 1),
        (4, 1),
        (7, 1),
    ]


def test_latency_histogram_and_km_curve():
    mod = metrics.moderation_latency(mc.moderation_frames())
    fig = plots.latency(mod)
    left, right = fig.axes
    assert (
        left.get_title() == "Review latency of reviewed submissions"
        and left.get_xlabel() == "hours from submission to review"
    )
    assert sum(b.get_height() for b in _bars(left)) == 6  # six observed latencies
    assert len(left.get_lines()) == 3  # p50, p90, p99 markers
    assert right.get_title() == "Time to review" and right.get_ylabel() == "share still waiting"
    step, median = right.get_lines()
    assert median.get_xdata()[0] == 24.0 and "median 24.0 h" in [t.get_text() for t in right.get_legend().get_texts()]
    assert step.get_ydata()[-1] == pytest.approx(4 / 15)


def test_backlog_line():
    ax = plots.backlog(metrics.moderation_latency(mc.moderation_frames()))
    (line,) = ax.get_lines()
    assert (
        list(line.get_ydata()) == [1]
        and ax.get_title() == "Moderation backlog"
        and ax.get_ylabel() == "pending submissions"
    )


def test_cohort_heatmap_cells():
    churn = metrics.session_churn(mc.churn_frames())
    ax = plots.cohort_heatmap(churn)
    (image,) = ax.get_images()
    data = image.get_array()
    assert data.shape == (3, 5) and data.mask.sum() == 4  # four unobservable cells are blank
    assert ax.get_title() == "Retention by weekly signup cohort" and ax.get_xlabel() == "weeks after signup week"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["2025-03-03", "2025-03-10", "2025-03-17"]


def test_weekly_actives_with_churn_rate():
    churn = metrics.session_churn(mc.churn_frames(), window=7, activity="sessions")
    ax = plots.weekly_actives(churn)
    (active,) = ax.get_lines()
    assert list(active.get_ydata()) == pytest.approx([np.nan, 2, 1, 0, 1, 1], nan_ok=True)  # a gap where unobservable
    assert ax.get_title() == "Weekly active users"
    twin = [a for a in ax.figure.axes if a is not ax][0]
    (rate,) = twin.get_lines()
    assert list(rate.get_ydata()) == pytest.approx([np.nan, 1 / 3, 2 / 3, 1, 2 / 3], nan_ok=True)
    assert len(ax.get_legend().get_texts()) == 2
    alone = plots.weekly_actives(churn, with_churn_rate=False)
    assert len(alone.figure.axes) == 1


def test_sessions_per_user_bars():
    ax = plots.sessions_per_user(metrics.session_churn(mc.churn_frames(), activity="sessions"))
    assert sorted((round(b.get_x() + b.get_width() / 2), b.get_height()) for b in _bars(ax)) == [(0, 1), (1, 2), (3, 2)]
    assert ax.get_title() == "Sessions per user" and ax.get_ylabel() == "users"


def test_questions_per_user_bars():
    ax = plots.activity_per_user(metrics.session_churn(mc.churn_frames()))
    assert sorted((round(b.get_x() + b.get_width() / 2), b.get_height()) for b in _bars(ax)) == [
        (0, 1),
        (1, 2),
        (2, 1),
        (3, 1),
    ]
    assert ax.get_title() == "Questions per user" and ax.get_ylabel() == "users"
