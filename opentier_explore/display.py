"""Readable display of results: UTC timestamps without zone or sub-second noise, midnights as dates, rounded Timedeltas.

Only what is shown changes: `readable` returns a display copy and the metrics' own values are left untouched.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

#: Timedeltas are rounded to the first unit their largest magnitude reaches (a day → minutes, …).
_TIMEDELTA_STEPS = (
    (pd.Timedelta(days=1), "min"),
    (pd.Timedelta(minutes=1), "s"),
    (pd.Timedelta(seconds=1), "ms"),
)


def _timedelta_unit(largest: pd.Timedelta) -> str | None:
    for threshold, unit in _TIMEDELTA_STEPS:
        if largest >= threshold:
            return unit
    return None  # below a second: every digit is the value


def _readable_datetimes(values: pd.DatetimeIndex | pd.Series):
    """UTC wall time without the zone, to the second; pandas then prints an all-midnight column as dates."""
    dt = values if isinstance(values, pd.DatetimeIndex) else values.dt
    if dt.tz is not None:
        values = dt.tz_convert("UTC").tz_localize(None) if dt is values else dt.tz_convert("UTC").dt.tz_localize(None)
        dt = values if isinstance(values, pd.DatetimeIndex) else values.dt
    return dt.floor("s")


def _readable_timedeltas(values: pd.TimedeltaIndex | pd.Series):
    td = values if isinstance(values, pd.TimedeltaIndex) else values.dt
    largest = abs(values).max()
    unit = None if pd.isna(largest) else _timedelta_unit(largest)
    return td.round(unit) if unit else values


def _readable_values(values: pd.Index | pd.Series):
    kind = values.dtype.kind
    if kind == "M":
        return _readable_datetimes(values)
    if kind == "m":
        return _readable_timedeltas(values)
    if kind == "O" and any(isinstance(v, (pd.Timestamp, pd.Timedelta)) for v in values):
        return values.map(readable_scalar)
    return values


def _readable_index(index: pd.Index) -> pd.Index:
    if isinstance(index, pd.MultiIndex):
        levels = [_readable_index(index.get_level_values(i)) for i in range(index.nlevels)]
        return pd.MultiIndex.from_arrays(levels, names=index.names)
    out = _readable_values(index)
    return out if isinstance(out, pd.Index) else pd.Index(out, name=index.name)


def readable_scalar(value: Any) -> Any:
    """A Timestamp as `2026-06-29 23:26:26 UTC` (or `2025-06-30` at midnight), a Timedelta rounded; else `value`."""
    if isinstance(value, pd.Timestamp) and not pd.isna(value):
        wall = (value.tz_convert("UTC") if value.tz is not None else value).floor("s")
        if wall == wall.normalize():
            return wall.strftime("%Y-%m-%d")
        return wall.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if value.tz is not None else "")
    if isinstance(value, pd.Timedelta) and not pd.isna(value):
        unit = _timedelta_unit(abs(value))
        return value.round(unit) if unit else value
    return value


def readable(obj: Any) -> Any:
    """A display copy of a DataFrame, Series or Index with readable dates, timestamps and durations."""
    if isinstance(obj, pd.DataFrame):
        out = obj.copy(deep=False)
        for i in range(obj.shape[1]):
            column = obj.iloc[:, i]
            if column.dtype.kind in "MmO":
                out.isetitem(i, _readable_values(column))
        out.index, out.columns = _readable_index(obj.index), _readable_index(obj.columns)
        return out
    if isinstance(obj, pd.Series):
        out = _readable_values(obj)
        out = out.copy(deep=False) if out is obj else out
        out.index = _readable_index(obj.index)
        return out
    if isinstance(obj, pd.Index):
        return _readable_index(obj)
    return readable_scalar(obj)
