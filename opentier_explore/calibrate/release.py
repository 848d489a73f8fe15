"""What leaves the server: aggregate vectors, optionally made differentially private, and small counts held back.

Every statistic the calibration reads is a vector of counts computed inside PostgreSQL, each declared with
its L1 sensitivity (how much one user can change the vector, their contribution being bounded). With an
epsilon, OpenDP's discrete Laplace mechanism adds noise to every vector, the budget split evenly over them
(basic composition); the noise comes from the operating system, so a noisy release differs run to run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Rows one user may contribute to a per-row statistic when noise is added (their further rows are left out).
DP_ROW_CAP = 100


@dataclass(frozen=True)
class Stat:
    """One aggregate vector as computed in PostgreSQL, with one user's maximal L1 influence on it."""

    values: tuple[float, ...]
    sensitivity: float


@dataclass
class Released:
    """The released statistics (noisy when epsilon is set) and the privacy settings that produced them."""

    values: dict[str, np.ndarray]
    min_count: int
    epsilon: float | None
    suppressed: list[str] = field(default_factory=list)

    def vector(self, name: str) -> np.ndarray:
        """A released vector (missing when its table or column is absent)."""
        return self.values[name]

    def has(self, name: str) -> bool:
        return name in self.values

    def scalar(self, name: str, i: int = 0) -> float:
        return float(self.values[name][i])

    def enough(self, *counts: float) -> bool:
        """Whether every count is at least K (else what derives from them is suppressed)."""
        return all(c >= self.min_count for c in counts)


def _noisy(values: np.ndarray, sensitivity: float, epsilon: float) -> np.ndarray:
    """The vector plus discrete Laplace noise calibrated so that releasing it is epsilon-DP."""
    import opendp.prelude as dp

    dp.enable_features("contrib")
    d_in = int(np.ceil(sensitivity))
    mech = dp.m.make_laplace(dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int), scale=d_in / epsilon)
    if mech.map(d_in) > epsilon * (1 + 1e-9):  # OpenDP's own accounting must agree with the split budget
        raise AssertionError("the noise scale does not meet the privacy budget")
    out = np.asarray(mech([int(round(v)) for v in values.tolist()]), dtype=float)
    return np.maximum(out, 0.0)  # counts are never negative (post-processing keeps the guarantee)


def release(stats: dict[str, Stat], *, min_count: int, epsilon: float | None, parts: int) -> Released:
    """Every statistic, each with noise of budget epsilon / parts when `epsilon` is given, sorted by name."""
    names = sorted(stats)
    out: dict[str, np.ndarray] = {}
    share = epsilon / max(parts, 1) if epsilon is not None else None
    for name in names:
        values = np.asarray(stats[name].values, dtype=float)
        out[name] = values if share is None or not len(values) else _noisy(values, stats[name].sensitivity, share)
    return Released(out, min_count, epsilon)


def merge_small(counts: np.ndarray, k: int) -> list[tuple[int, int, float]]:
    """Adjacent cells merged until each holds at least k: (first, last, total) per merged cell; [] if all < k."""
    groups: list[tuple[int, int, float]] = []
    start, acc = 0, 0.0
    for i, c in enumerate(counts.tolist()):
        acc += c
        if acc >= k:
            groups.append((start, i, acc))
            start, acc = i + 1, 0.0
    if acc > 0 and groups:  # a small tail joins the last cell
        a, _, t = groups[-1]
        groups[-1] = (a, len(counts) - 1, t + acc)
    return groups


def spread(counts: np.ndarray, k: int) -> np.ndarray | None:
    """The histogram with small cells merged and each merged total spread evenly over its cells; None if < k."""
    groups = merge_small(counts, k)
    if not groups:
        return None
    out = np.zeros(len(counts))
    for a, b, t in groups:
        out[a : b + 1] = t / (b - a + 1)
    return out


def quantiles(counts: np.ndarray, edges: np.ndarray, probs: list[float]) -> list[float]:
    """Quantiles of a histogram (cells between `edges`), linear inside each cell."""
    cum = np.concatenate([[0.0], np.cumsum(counts)])
    total = cum[-1]
    return [float(np.interp(p * total, cum, edges)) for p in probs]
