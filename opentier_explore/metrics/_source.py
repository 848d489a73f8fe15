"""What a metric was given (an Engine or loaded frames) and whether it has the columns the metric needs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError, SchemaError

Source = Any  # sqlalchemy.Engine | Mapping[str, pandas.DataFrame]


def is_engine(src: Source) -> bool:
    """True for a SQLAlchemy Engine (compute in PostgreSQL), False for a mapping of frames (compute in pandas)."""
    import sqlalchemy

    if isinstance(src, sqlalchemy.Engine):
        return True
    if isinstance(src, Mapping):
        return False
    raise ConfigError(
        f"A metric needs an Engine (from connect()) or a mapping of table name to DataFrame (from load_all()), not {type(src).__name__}."
    )


def _missing(metric: str, table: str, missing: Sequence[str]) -> SchemaError:
    cols = ", ".join(repr(c) for c in missing)
    noun = "column" if len(missing) == 1 else "columns"
    return SchemaError(
        f"{metric} needs {noun} {cols} of table {table!r}, which this database lacks: it predates that column or is not OpenTier's schema."
    )


def frame(src: Mapping[str, pd.DataFrame], table: str, columns: Sequence[str], metric: str) -> pd.DataFrame:
    """`src[table]` restricted to `columns`; one SchemaError naming what is missing."""
    if table not in src:
        raise SchemaError(f"{metric} needs table {table!r}, which the given frames lack: load it with load_all().")
    df = src[table]
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise _missing(metric, table, missing)
    return df[list(columns)]


def check_sql(engine, needs: Mapping[str, Sequence[str]], metric: str) -> None:
    """Raise one SchemaError when the database lacks a table or column of `needs` ({table: columns})."""
    from .. import reflect

    tables = reflect.catalog(engine)
    for table, columns in needs.items():
        if table not in tables:
            raise SchemaError(f"{metric} needs table {table!r}, which this database lacks: is it migrated?")
        have = set(tables[table].column_names)
        missing = [c for c in columns if c not in have]
        if missing:
            raise _missing(metric, table, missing)


def query(
    engine, sql: str, params: Mapping[str, Any] | None = None, settings: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The result of `sql` as a DataFrame, in a read-only transaction (with `settings` SET LOCAL for it alone)."""
    import sqlalchemy

    with engine.connect() as conn:
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        for name, value in (settings or {}).items():
            conn.execute(sqlalchemy.text("SELECT set_config(:name, :value, true)"), {"name": name, "value": value})
        result = conn.execute(sqlalchemy.text(sql), dict(params or {}))
        rows = result.all()
        cols = list(result.keys())
        conn.rollback()
    return pd.DataFrame.from_records(rows, columns=cols)


def utc(values) -> pd.Series | pd.Timestamp:
    """Timestamps (or one timestamp) as tz-aware UTC nanosecond values."""
    if values is None or pd.api.types.is_scalar(values):  # a str, Timestamp, datetime, date, np.datetime64 or NaT
        if values is None or (not isinstance(values, str) and pd.isna(values)):
            return pd.NaT
        try:
            ts = pd.Timestamp(values)
        except (ValueError, TypeError, OverflowError):
            raise ConfigError(
                f"{values!r} is not a point in time: pass e.g. '2025-09-01T00:00Z' or a pandas Timestamp."
            ) from None
        return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    out = pd.to_datetime(pd.Series(values), utc=True)
    return out.astype("datetime64[ns, UTC]")


def week_start(ts: pd.Series) -> pd.Series:
    """Monday 00:00 UTC of the ISO week holding each timestamp."""
    ts = utc(ts)
    day = ts.dt.floor("D")
    return day - pd.to_timedelta(day.dt.day_of_week, unit="D")


def week_ends(first: pd.Timestamp, as_of: pd.Timestamp) -> pd.DatetimeIndex:
    """Every Monday 00:00 UTC t with first < t <= as_of: the ends of the weeks completed by as_of."""
    if pd.isna(first) or pd.isna(as_of):
        return pd.DatetimeIndex([], tz="UTC", name="week_end").as_unit("ns")
    start = week_start(pd.Series([first])).iloc[0] + pd.Timedelta(days=7)
    ends = pd.date_range(start, as_of, freq="7D", name="week_end") if start <= as_of else pd.DatetimeIndex([], tz="UTC")
    return pd.DatetimeIndex(ends.tz_convert(None).to_numpy(), name="week_end").tz_localize("UTC").as_unit("ns")


def seconds_to_timedelta(seconds) -> pd.Timedelta:
    """Float seconds as a Timedelta rounded to the microsecond (NaN or inf → NaT)."""
    if seconds is None or not np.isfinite(seconds):
        return pd.NaT
    return pd.Timedelta(microseconds=int(round(float(seconds) * 1e6)))
