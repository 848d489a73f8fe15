"""What every metric shares: what it was given (an Engine or frames) and whether it has the needed columns, the one
read-only query (and one_row for a statement returning several parts), and the one definition of as_of and of weeks.
"""

from __future__ import annotations

import contextvars
import datetime
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from .. import db
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
    return db.read_frame(engine, sql, params, settings)


def query_all(
    engine,
    statements: Sequence[str],
    settings: Mapping[str, str] | None = None,
    types: Mapping[str, Any] | None = None,
) -> list[pd.DataFrame]:
    """The results of `statements`, run at once on as many connections (in a Snapshot, all see its one moment);
    with `types` (their columns' Arrow types) each is read as one COPY (db.read_arrow), for results of many rows."""

    def one(sql: str) -> pd.DataFrame:
        if types is None:
            return query(engine, sql, settings=settings)
        return db.read_arrow(engine, sql, types, settings).to_pandas()

    if len(statements) <= 1:
        return [one(sql) for sql in statements]
    with ThreadPoolExecutor(len(statements)) as pool:  # the driver waits for the server without the GIL
        # each in a copy of the caller's context: the snapshot machinery knows it runs inside a kit call
        futures = [pool.submit(contextvars.copy_context().run, one, sql) for sql in statements]
        return [f.result() for f in futures]


def one_row(
    engine,
    sql: str,
    params: Mapping[str, Any],
    parts: Mapping[str, Sequence[str]],
    settings: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """Run a statement returning one row (one round trip): its plain columns, and each of `parts` as a DataFrame.

    A part is a column holding the JSON array of a CTE's rows (`(SELECT json_agg(j ORDER BY …) FROM cte j) AS name`),
    NULL when there are none; `parts` names each part's columns. Timestamps arrive as ISO text (utc() reads them).
    """
    row = query(engine, sql, params, settings).iloc[0].to_dict()
    frames = {
        name: pd.DataFrame.from_records(row.pop(name) or [], columns=list(columns)) for name, columns in parts.items()
    }
    return row, frames


def as_of_param(as_of) -> datetime.datetime | None:
    """The caller's as_of as the query parameter `:as_of` (UTC, to the microsecond), or None to let SQL take the latest."""
    chosen = as_of_from(as_of, None)
    return None if pd.isna(chosen) else chosen.to_pydatetime()


def as_of_from(as_of, latest) -> pd.Timestamp:
    """The moment a metric looks from: the given as_of, else the latest timestamp, in UTC, truncated to the microsecond.

    The SQL paths compute the same: `coalesce(CAST(:as_of AS timestamptz), <latest>)`, with :as_of from as_of_param().
    """
    chosen = utc(as_of) if as_of is not None else utc(latest)
    return chosen.floor("us") if not pd.isna(chosen) else pd.NaT


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
    out = pd.to_datetime(pd.Series(values), utc=True, format="ISO8601")  # text: what one_row's JSON parts hold
    return out.astype("datetime64[ns, UTC]")


# Weeks are ISO weeks, Monday 00:00 UTC to the next Monday, for every metric. In SQL the same is
# date_trunc('week', t AT TIME ZONE 'UTC'), and the week ends of week_ends() are
# generate_series(date_trunc('week', first AT TIME ZONE 'UTC') + interval '7 days', as_of AT TIME ZONE 'UTC', interval '7 days').
WEEK = pd.Timedelta(days=7)


def week_start(ts: pd.Series) -> pd.Series:
    """Monday 00:00 UTC of the ISO week holding each timestamp."""
    ts = utc(ts)
    day = ts.dt.floor("D")
    return day - pd.to_timedelta(day.dt.day_of_week, unit="D")


def week_ends(first: pd.Timestamp, as_of: pd.Timestamp) -> pd.DatetimeIndex:
    """Every Monday 00:00 UTC t with first < t <= as_of: the ends of the weeks completed by as_of."""
    if pd.isna(first) or pd.isna(as_of):
        return pd.DatetimeIndex([], tz="UTC", name="week_end").as_unit("ns")
    start = week_start(pd.Series([first])).iloc[0] + WEEK
    ends = pd.date_range(start, as_of, freq="7D", name="week_end") if start <= as_of else pd.DatetimeIndex([], tz="UTC")
    return pd.DatetimeIndex(ends.tz_convert(None).to_numpy(), name="week_end").tz_localize("UTC").as_unit("ns")


def utc_index(values, name: str | None = None) -> pd.DatetimeIndex:
    """Timestamps (naive UTC or tz-aware, any zone) as a tz-aware UTC nanosecond index."""
    if not len(values):
        return pd.DatetimeIndex([], tz="UTC", name=name).as_unit("ns")
    ts = utc(pd.Series(list(values)) if not isinstance(values, pd.Series) else values)
    return pd.DatetimeIndex(ts.to_numpy(), name=name).tz_localize(None).tz_localize("UTC").as_unit("ns")


def seconds_to_timedelta(seconds) -> pd.Timedelta:
    """Float seconds as a Timedelta rounded to the microsecond (NaN or inf → NaT)."""
    if seconds is None or not np.isfinite(seconds):
        return pd.NaT
    return pd.Timedelta(microseconds=int(round(float(seconds) * 1e6)))
