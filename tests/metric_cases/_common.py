"""What every block of hand-worked cases shares: readable ids, the clock, and what a Case is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

T0 = pd.Timestamp("2025-03-03 00:00", tz="UTC")  # a Monday
H = pd.Timedelta(hours=1)
D = pd.Timedelta(days=1)


def uid(n: int) -> str:
    """A readable, sortable UUID: uid(7) == '00000000-0000-4000-8000-000000000007'."""
    return f"00000000-0000-4000-8000-{n:012d}"


def conv(n: int) -> str:
    """Conversation n's UUID."""
    return f"c0000000-0000-4000-8000-{n:012d}"


def week(k: int) -> pd.Timestamp:
    """Monday 00:00 UTC of the k-th week after T0's."""
    return T0 + pd.Timedelta(days=7 * k)


NAN = np.nan


@dataclass(frozen=True)
class Case:
    """One block of hand-worked rows: as frames, inserted into a migrated database, and the answers worked out by hand.

    The integration tests insert each case into its own database (`m_metrics_<name>`) and hold both paths to
    `check`; they also compare both paths of every registered metric on it. `metrics` names the registered
    metrics whose answers `check` asserts: every registered metric must be named by some case.
    """

    name: str
    frames: Callable[[], dict[str, pd.DataFrame]]
    insert: Callable[[Any], None]  # (psycopg connection, autocommit) → None
    check: Callable[[Any], None]  # (Engine or frames) → None, asserting the hand-computed answers
    metrics: tuple[str, ...]
