"""The Kaplan-Meier product-limit estimator over a weighted life table, for moderation latency."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import _source


def kaplan_meier_median(d: np.ndarray, observed: np.ndarray, censored: np.ndarray) -> tuple[pd.Timedelta, pd.Series]:
    """Kaplan-Meier median and curve from the life table (distinct duration in seconds → counts), never the clock."""
    empty = pd.Series([], index=pd.TimedeltaIndex([], name="duration").as_unit("ns"), dtype=float, name="survival")
    if not len(d):
        return pd.NaT, empty
    times, survival = kaplan_meier(np.asarray(d, float), np.asarray(observed, float), np.asarray(censored, float))
    below = np.flatnonzero(survival <= 0.5)
    median = _source.seconds_to_timedelta(float(times[below[0]]) if below.size else np.inf)
    index = pd.TimedeltaIndex([_source.seconds_to_timedelta(x) for x in times], name="duration").as_unit("ns")
    return median, pd.Series(survival, index=index, name="survival")


def kaplan_meier(d: np.ndarray, observed: np.ndarray, censored: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Product-limit survival S(t) at 0 (or the least duration, if negative) and at every duration of a weighted life table."""
    # The estimator lifelines' KaplanMeierFitter computes (exp of the summed log(1 - deaths/at-risk)), term for
    # term; lifelines itself pins pandas < 3, so the kit carries these few lines instead.
    times, where = np.unique(np.concatenate([[min(0.0, float(d.min()))], d]), return_inverse=True)
    where = where[1:]
    deaths = np.bincount(where, weights=observed, minlength=len(times))
    removed = np.bincount(where, weights=observed + censored, minlength=len(times))
    at_risk = removed.sum() - np.concatenate([[0.0], np.cumsum(removed)[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.log(at_risk - deaths) - np.log(at_risk)
    terms[np.isnan(terms)] = 0.0  # nobody left at risk: the curve stays where it was
    return times, np.exp(np.cumsum(terms))
