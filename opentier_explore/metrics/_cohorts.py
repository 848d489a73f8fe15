"""Weekly series and cohort grids for session_churn's assembly: which weeks exist, which cells can be seen."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import _source


def weekly_series(weekly: pd.Series, sizes_index, as_of, observed_from) -> pd.Series:
    """Weekly counts (week start → n) on every week from the first (of counts or cohorts) to as_of's; NA before observed_from."""
    weekly = weekly.set_axis(_source.utc_index(weekly.index))
    starts = [i.min() for i in (weekly.index, sizes_index) if len(i)]
    if starts and not pd.isna(as_of):
        full = pd.date_range(min(starts), _source.week_start(pd.Series([as_of])).iloc[0], freq="7D", tz="UTC")
        weekly = weekly.reindex(full, fill_value=0)
    out = pd.Series(
        weekly.to_numpy(np.int64), index=_source.utc_index(weekly.index), name="active_users", dtype="Int64"
    )
    if len(out):
        out[pd.isna(observed_from) | (out.index < observed_from)] = pd.NA
    out.index.name = "week_start"
    return out


def retention_grid(sizes: pd.Series, act: pd.DataFrame, as_of, observed_from) -> tuple[pd.DataFrame, pd.Series]:
    """(cohort × week offset → share active, cohort sizes) for cohorts ended by as_of; NaN where not observable."""
    week = _source.WEEK
    sizes = sizes.set_axis(_source.utc_index(sizes.index)).sort_index().astype(np.int64)
    if not pd.isna(as_of):
        sizes = sizes[sizes.index + week <= as_of]
    sizes = pd.Series(sizes.to_numpy(np.int64), index=_source.utc_index(sizes.index, name="cohort"), name="users")
    n_off = int((as_of - sizes.index.min()) // week) if len(sizes) else 0
    grid = np.full((len(sizes), n_off), np.nan)
    if len(act) and len(sizes):
        row = sizes.index.get_indexer(_source.utc_index(act["c"]))
        k = act["k"].to_numpy(np.int64)
        ok = (row >= 0) & (k >= 0) & (k < n_off)
        grid[row[ok], k[ok]] = act["n"].to_numpy(float)[ok]
    cell = sizes.index.tz_convert(None).to_numpy()[:, None] + np.arange(n_off)[None, :] * week.to_timedelta64()
    observable = (
        cell + week.to_timedelta64() <= as_of.tz_convert(None).to_datetime64() if len(sizes) else cell.astype(bool)
    )
    if pd.isna(observed_from):
        observable &= False
    elif len(sizes):
        observable &= cell >= observed_from.tz_convert(None).to_datetime64()
    grid = np.where(observable, np.nan_to_num(grid, nan=0.0) / sizes.to_numpy(float)[:, None], np.nan)
    return pd.DataFrame(grid, index=sizes.index, columns=pd.RangeIndex(n_off, name="week")), sizes
