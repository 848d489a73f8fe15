"""How close a synthetic twin is to its source: the kit's metrics on both, side by side, each with its tolerance.

Weekly active users are compared over the last 8 *complete* ISO weeks before the week holding as_of. That week is
partial (the seeded sources end on a Tuesday at midnight: one day of it), and one day of chat holds 50-130 active
users, whose seed-to-seed noise alone is about the 15 % tolerance (Poisson: √(2·100)/100 ≈ 14 % between two
independent draws; `steady`'s own profile seeded with seeds 42 and 7 gives 64 and 54 there, −16 %). A whole week
holds seven times as many and stays well inside it.

A calibrated profile holds those 8 weeks themselves (`conversations.weekly_active_users`): estimated inside
PostgreSQL as the distinct non-admin users whose conversations (`conversations.created_at`) start in each week,
released like every count (suppressed below `--min-count`, noised with `--epsilon`). The twin's generator draws each
week's conversations until it holds that many users, so a twin's weeks follow the source's, dips included, instead
of a stationary churn model's average plus its seed's noise (admins, left out of the counts, add a few either way).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from seed.generate import TABLES  # every table the generator fills, in foreign-key order

if TYPE_CHECKING:
    import sqlalchemy

ROLES = ("user", "contributor", "admin")
WEEKS = 8

#: (kind, tolerance): relative differences are (twin − source) / source; points are percentage points; abs is units.
TOLERANCES = {
    "rows": ("relative", 0.10),
    "role_share": ("points", 2.0),
    "depth_median": ("abs", 1.0),
    "depth_p90": ("abs", 2.0),
    "branch_share": ("points", 3.0),
    "latency": ("relative", 0.20),
    "weekly_active": ("relative", 0.15),
    "week1_retention": ("points", 5.0),
}


def _engine(src: sqlalchemy.Engine | str) -> sqlalchemy.Engine:
    from .db import connect

    return connect(src) if isinstance(src, str) else src


def _rows(engine) -> dict[str, float]:
    from sqlalchemy import inspect, text

    have = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        return {
            f"rows: {t}": float(conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar()) for t in TABLES if t in have
        }


def _roles(engine) -> dict[str, float]:
    from sqlalchemy import text

    with engine.connect() as conn:
        got = dict(conn.execute(text("SELECT role::text, count(*) FROM users GROUP BY 1")).fetchall())
    n = sum(got.values()) or 1
    return {f"role_share: {r} (%)": 100.0 * got.get(r, 0) / n for r in ROLES}


def _trees(engine) -> dict[str, float]:
    from . import metrics

    summary = metrics.tree_summary(metrics.conversation_trees(engine))
    kinds = metrics.branch_kinds(engine)["branch_points"]
    total = float(kinds.sum()) or 1.0
    edits = float(kinds["edited_question"] + kinds["edited_first_question"])
    return {
        "depth_median: conversation depth": float(summary["median_depth"]),
        "depth_p90: conversation depth": float(summary["p90_depth"]),
        "branch_share: regenerated answers (%)": 100.0 * float(kinds["regenerated_answer"]) / total,
        "branch_share: edited questions (%)": 100.0 * edits / total,
    }


def _hours(td: Any) -> float:
    return float("nan") if pd.isna(td) else pd.Timedelta(td).total_seconds() / 3600.0


def _latency(engine) -> dict[str, float]:
    from . import metrics

    mod = metrics.moderation_latency(engine)
    pct = mod.percentiles
    return {
        "latency: review p50 (hours)": _hours(pct["p50"]),
        "latency: review p90 (hours)": _hours(pct["p90"]),
        "latency: Kaplan-Meier median (hours)": _hours(mod.km_median),
    }


def _churn(engine) -> dict[str, float]:
    from . import metrics

    ch = metrics.session_churn(engine)
    # The last week is the one holding as_of, always partial: the 8 complete weeks before it (see the docstring).
    weekly = ch.weekly_active.iloc[-WEEKS - 1 : -1]
    out = {f"weekly_active: week -{WEEKS - i}": float(v) for i, v in enumerate(weekly.to_numpy())}
    ret = ch.cohort_retention
    if 1 in ret.columns:
        sizes = ch.cohort_sizes.reindex(ret.index).astype(float)
        ok = ret[1].notna()
        out["week1_retention: cohort-weighted (%)"] = 100.0 * float((ret[1][ok] * sizes[ok]).sum() / sizes[ok].sum())
    return out


def measure(src: sqlalchemy.Engine | str) -> dict[str, float]:
    """The fidelity metrics of one database (an Engine or a URL), by name."""
    engine = _engine(src)
    out: dict[str, float] = {}
    for part in (_rows, _roles, _trees, _latency, _churn):
        out.update(part(engine))
    return out


def compare(source: dict[str, float], twin: dict[str, float]) -> pd.DataFrame:
    """Side-by-side table of two measurements: difference in each metric's unit and whether it is within tolerance."""
    rows = []
    for metric, s in source.items():
        t = twin.get(metric, float("nan"))
        kind, tol = TOLERANCES[metric.split(":", 1)[0]]
        if kind == "relative":
            diff = (t - s) / s if s else (0.0 if t == s else float("inf"))
        else:
            diff = t - s
        rows.append(
            {
                "metric": metric,
                "source": s,
                "twin": t,
                "difference": diff,
                "tolerance": tol,
                "within": bool(np.isfinite(diff) and abs(diff) <= tol),
            }
        )
    return pd.DataFrame(rows, columns=["metric", "source", "twin", "difference", "tolerance", "within"])


def fidelity(source: sqlalchemy.Engine | str, twin: sqlalchemy.Engine | str) -> pd.DataFrame:
    """The metrics on the source and its twin side by side: metric, source, twin, difference, tolerance, within."""
    return compare(measure(source), measure(twin))
