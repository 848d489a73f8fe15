"""The schema tour's figures draw what they say, titled and labelled."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from opentier_explore import plots  # noqa: E402


def test_table_sizes_one_bar_per_table_largest_on_top() -> None:
    sizes = pd.DataFrame(
        {"rows": [500, 20, 0], "columns": [8, 6, 4]}, index=pd.Index(["chat", "users", "empty"], name="table")
    )
    ax = plots.table_sizes(sizes)
    bars = ax.patches
    assert len(bars) == 3
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-1] == "chat" and labels[0] == "empty"
    assert ax.get_xscale() == "log" and ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    plt.close("all")


def test_monthly_messages_two_lines() -> None:
    monthly = pd.DataFrame(
        {"chat_messages": [10, 30, 50], "messages": [5, 8, 0]},
        index=pd.Index(["2026-01", "2026-02", "2026-03"], name="month"),
    )
    ax = plots.monthly_messages(monthly)
    lines = ax.get_lines()
    assert [list(line.get_ydata()) for line in lines] == [[10, 30, 50], [5, 8, 0]]
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {
        "chat_messages (Intelligence)",
        "messages (Rust API)",
    }
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    plt.close("all")
