"""Tables into correctly typed DataFrames (or Arrow tables), fast: reflection of the live catalog, then one bulk ADBC fetch per table.

The bulk path is the ADBC PostgreSQL driver (binary COPY into Arrow), with SQL casts for the
types Arrow cannot carry; a reader thread pulls Arrow batches off the wire (the driver releases the
GIL) while this thread converts the previous batch. When JSON is parsed into objects, the reader copies the
columns kept as Arrow out of each batch, so the batch's JSON texts are freed once parsed (Arrow frees an
imported batch only with its last column); the objects made go to the oldest GC generation at once.
`bench/load.py` measured it against
`pandas.read_sql`, ConnectorX, plain ADBC and the bytes-only COPY floor (see bench/RESULTS.md).

dtypes under pandas 3, by PostgreSQL type:
- TEXT, VARCHAR, CHAR, UUID (canonical lowercase text), INET/CIDR (`abbrev` form: no /32 on a host)
  → `str` (pandas 3's Arrow-backed string dtype; NaN for NULL);
- enums → `category` whose categories are the enum's labels in declaration order (unordered; `str` labels);
- JSON/JSONB → `object` holding dicts/lists/scalars parsed by orjson (a JSON `null` and SQL NULL both
  load as None; equal strings in objects, or in objects in arrays, are one shared str: `convert.SharedStrings`,
  which halves the peak of `large` chat_messages, whose cited chunk texts repeat), or with ``json="arrow"`` Arrow's JSON type (`extension<arrow.json>[pyarrow]`: the texts,
  unparsed, in Arrow memory), or with ``json="nested"`` Arrow nested types (`pd.ArrowDtype`): objects →
  struct, arrays → list, integers → int64 (float64 where fractions share the place), true/false → bool,
  strings → dictionary<int32, string> (one dictionary per place, across batches; plain string where mostly
  distinct), SQL NULL and JSON null → null. Parsed by `pyarrow.json` batch by batch, each batch's texts freed
  once parsed (`nested.py`): on `large` chat_messages a tenth of read_sql's peak (bench/RESULTS.md). Only
  where the values read back exactly as orjson parses them: a column whose values do not share one Arrow type
  (a number here and an object there, objects lacking keys others have or holding a null, numbers from 2**53)
  falls back, whole, to `arrow.json` texts (those of batches parsed before are re-serialized, compact);
- TIMESTAMPTZ → `datetime64[ns, UTC]`; TIMESTAMP, DATE, TIME → their pandas form at ns resolution;
- vector → `object`, one writable np.float32 array per row (None for NULL);
- SMALLINT/INTEGER/BIGINT, BOOLEAN → numpy int16/int32/int64/bool when the column is NOT NULL,
  else pandas Int16/Int32/Int64/boolean; REAL/DOUBLE → float32/float64 (NaN for NULL);
- INTERVAL → `timedelta64[ns]`; NUMERIC → `object` of decimal.Decimal; arrays → `object` of numpy arrays;
  other types → their text form as `str`.
With ``as_arrow=True`` the result is the `pyarrow.Table` the driver delivered, untouched (zero copy): the
SQL casts above give UUID/INET/enum as strings, vector as list<float>, INTERVAL as float seconds, and JSON as
`arrow.json` — ready for `polars.from_arrow` or DuckDB; with ``json="nested"`` too, the same table with its
JSON columns nested as above (the other columns copied out of each batch, so its texts can go).
Every load runs in a read-only transaction, whatever the engine; `load_all` reads every table in one
snapshot (a REPEATABLE READ READ ONLY transaction importing the snapshot of `snapshots.Snapshot`).
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import config, convert, db, nested, reflect
from .errors import ConfigError, OpentierError
from .snapshots import Snapshot, consistent

if TYPE_CHECKING:
    import pyarrow as pa
    import sqlalchemy


@consistent("engine", default_engine=True)
def load(
    table: str,
    *,
    engine: sqlalchemy.Engine | None = None,
    columns: Sequence[str] | None = None,
    where: str | None = None,
    limit: int | None = None,
    json: str = "objects",
    as_arrow: bool = False,
) -> pd.DataFrame | pa.Table:
    """One table (or view) as a typed DataFrame: all columns or `columns`, rows matching `where`, at most `limit`.

    `where` is a raw SQL boolean fragment (e.g. ``"created_at >= '2025-01-01'"``) pasted into the
    query: it is for trusted analysts, and it still runs in a read-only transaction. With `limit`,
    rows are ordered by the primary key so the same call returns the same rows. ``json="arrow"``
    keeps JSON columns as Arrow's JSON type instead of parsing them, ``json="nested"`` parses them into
    Arrow nested types where lossless; ``as_arrow=True`` returns the pyarrow.Table itself (module docstring).
    """
    engine = _engine(engine)
    _check_modes(json, as_arrow)
    spec = reflect.table(engine, table)
    with _adbc(engine) as conn:
        return _fetch(conn, spec, columns=columns, where=where, limit=limit, json=json, as_arrow=as_arrow)


@consistent("engine", default_engine=True)
def load_all(
    *,
    engine: sqlalchemy.Engine | None = None,
    tables: Iterable[str] | None = None,
    json: str = "objects",
    as_arrow: bool = False,
) -> dict[str, pd.DataFrame | pa.Table]:
    """{table name: DataFrame} for `tables`, or for every table except bookkeeping ones named `_…` (e.g. `_sqlx_migrations`), all as of one moment."""
    engine = _engine(engine)
    _check_modes(json, as_arrow)
    if isinstance(tables, str):
        raise ConfigError(f"`tables` must be a list of table names, not the string {tables!r}.")
    found = reflect.catalog(engine)
    names = db.tables(engine) if tables is None else list(tables)
    specs = [reflect.table(engine, n, found) for n in names]
    with _adbc(engine) as conn:
        return {spec.name: _fetch(conn, spec, json=json, as_arrow=as_arrow) for spec in specs}


def _check_modes(json: object, as_arrow: object) -> None:
    if json not in convert.JSON_MODES:
        *rest, last = map(repr, convert.JSON_MODES)
        raise ConfigError(f"`json` must be {', '.join(rest)} or {last}, not {json!r}.")
    if not isinstance(as_arrow, bool):
        raise ConfigError(f"`as_arrow` must be True or False, not {as_arrow!r}.")


def _engine(engine: sqlalchemy.Engine | None) -> sqlalchemy.Engine:
    if engine is None:
        return db.connect()
    import sqlalchemy

    if not isinstance(engine, sqlalchemy.Engine):
        raise ConfigError(
            f"`engine` must be an Engine from connect(), not {type(engine).__name__}: pass engine=connect(url)."
        )
    return engine


class _adbc:
    """An ADBC connection on the engine's database in one REPEATABLE READ READ ONLY transaction (the Snapshot's, given one)."""

    def __init__(self, engine: sqlalchemy.Engine) -> None:
        self._engine = engine
        self._url = db.engine_url(engine)
        self._uri = db.read_only_conninfo(self._url)

    def __enter__(self):
        try:
            import adbc_driver_postgresql.dbapi as adbc
        except ImportError as exc:  # pragma: no cover - a runtime dependency
            raise OpentierError("The adbc-driver-postgresql package is missing: run `make install`.") from exc
        try:
            self._conn = adbc.connect(self._uri)
        except adbc.Error as exc:
            raise db.translate(exc, self._url) from None
        try:
            with self._conn.cursor() as cur:
                if isinstance(self._engine, Snapshot):
                    self._engine.start(cur.execute)
                else:
                    cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        except BaseException:
            self._conn.close()
            raise
        return self._conn

    def __exit__(self, *exc: object) -> None:
        try:
            self._conn.rollback()
        except Exception:  # pragma: no cover - a connection the failure broke; closing is all that is left
            pass
        self._conn.close()


def _select_sql(spec: reflect.Table, cols: list[reflect.Column], where: str | None, limit: int | None) -> str:
    parts = [f"SELECT {', '.join(c.select_expr() for c in cols)} FROM {reflect.quote_ident(spec.name)}"]
    if where is not None and where.strip():
        parts.append(f"WHERE ({where})")
    if limit is not None:
        if spec.primary_key:
            parts.append("ORDER BY " + ", ".join(reflect.quote_ident(k) for k in spec.primary_key))
        parts.append(f"LIMIT {limit}")
    return " ".join(parts)


def _fetch(
    conn,
    spec: reflect.Table,
    *,
    columns: Sequence[str] | None = None,
    where: str | None = None,
    limit: int | None = None,
    json: str = "objects",
    as_arrow: bool = False,
) -> pd.DataFrame | pa.Table:
    if isinstance(columns, str):
        raise ConfigError(f"`columns` must be a list of column names, not the string {columns!r}.")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 0):
        raise ConfigError(f"`limit` must be a non-negative integer, not {limit!r}.")
    cols = list(spec.columns) if columns is None else [spec.column(name) for name in columns]
    twice = sorted({c.name for c in cols if sum(d.name == c.name for d in cols) > 1})
    if twice:
        raise ConfigError(f"`columns` names {', '.join(map(repr, twice))} more than once: name each column once.")
    if not cols:
        raise ConfigError(f"No columns asked for from table {spec.name!r}: pass at least one name in `columns`.")
    sql = _select_sql(spec, cols, where, None if limit is None else int(limit))
    import adbc_driver_postgresql.dbapi as adbc
    import pyarrow as pa

    try:
        with conn.cursor() as cur:
            cur.adbc_statement.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(config.LOAD_BATCH_BYTES)})
            cur.execute(sql)
            if as_arrow and json != "nested":
                result = _arrow_table(cur.fetch_arrow_table(), cols)
            else:
                reader = cur.fetch_record_batch()
                parts = _stream(reader, cols, json, as_arrow)
                parts = [_finish(part, reader.schema.field(i).type, as_arrow) for i, part in enumerate(parts)]
    except (
        adbc.Error,
        pa.ArrowException,
        OSError,
    ) as exc:  # the server's errors arrive either way (OSError: mid-stream)
        raise OpentierError(f"Loading table {spec.name!r} failed: {db.driver_message(exc)}.") from None
    if as_arrow:
        return result if json != "nested" else pa.table(parts, names=[c.name for c in cols])
    frame = pd.DataFrame({col.name: part for col, part in zip(cols, parts)}, columns=[c.name for c in cols], copy=False)
    frame.index = pd.RangeIndex(len(frame))
    return frame


def _arrow_table(table: pa.Table, cols: list[reflect.Column]) -> pa.Table:
    """The driver's table, its JSON columns typed `arrow.json` (the same buffers)."""
    for i, col in enumerate(cols):
        if col.kind == "json":
            table = table.set_column(i, table.schema.field(i).name, convert.arrow_json(table.column(i)))
    return table


def _finish(part, arrow_type, as_arrow: bool):
    """One column from its pieces: a nested JSON column finished, Arrow chunks joined, pandas pieces concatenated."""
    import pyarrow as pa

    if isinstance(part, nested.NestedColumn):
        chunked = part.finish(arrow_type)
        return chunked if as_arrow else pd.arrays.ArrowExtensionArray(chunked)
    return pa.chunked_array(part, type=arrow_type) if as_arrow else convert.concat(part)


def _stream(reader, cols: list[reflect.Column], json: str = "objects", as_arrow: bool = False) -> list:
    """Converted pieces of each column, batch by batch: a thread pulls Arrow batches off the wire while this one converts.

    With ``json="nested"`` a JSON column's pieces go to a `nested.NestedColumn`; with `as_arrow` the other
    columns' pieces stay the driver's Arrow arrays.
    """
    import queue
    import threading

    import pyarrow as pa

    batches: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()
    copied = _copied_columns(cols, json, as_arrow)
    thread = threading.Thread(target=_produce, args=(reader, batches, stop, copied), name="opentier-load", daemon=True)
    parts: list = [nested.NestedColumn(c.type_name) if _nests(c, json) else [] for c in cols]
    shares = [convert.SharedStrings() if c.kind == "json" and json == "objects" else None for c in cols]
    was_enabled = gc.isenabled()
    gc.disable()  # millions of new dicts/lists would trigger collections over and over
    thread.start()
    try:
        while (item := batches.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            for i, col in enumerate(cols):
                if isinstance(parts[i], nested.NestedColumn):
                    parts[i].add(item[i])
                    continue
                try:
                    parts[i].append(
                        item[i] if as_arrow else convert.column(pa.chunked_array([item[i]]), col, json, shares[i])
                    )
                except (ValueError, OverflowError) as exc:  # pa.ArrowInvalid is a ValueError
                    raise pa.ArrowInvalid(_unconvertible(col, exc)) from None
            del item
        for i, col in enumerate(cols):
            if isinstance(parts[i], list) and not parts[i]:
                empty = pa.chunked_array([], type=reader.schema.field(i).type)
                parts[i].append(empty.combine_chunks() if as_arrow else convert.column(empty, col, json))
    finally:
        stop.set()
        while thread.is_alive():  # let the producer finish if we stopped early
            try:
                batches.get(timeout=0.05)
            except queue.Empty:
                pass
        thread.join()
        if was_enabled:
            _promote_new_objects()
            gc.enable()
    return parts


def _produce(reader, batches, stop, copied: tuple[int, ...]) -> None:
    """The reader thread: each batch's columns onto the queue, those in `copied` copied out of the batch's memory."""
    import pyarrow as pa

    try:
        for batch in reader:  # the driver reads and decodes without holding the GIL
            if stop.is_set():
                break
            columns = batch.columns
            if copied:
                # Arrow frees an imported batch only when no column of it is left, so the columns kept as
                # Arrow get buffers of their own (one copy, outside the GIL) and the JSON texts go once parsed.
                own = pa.concat_batches([batch.select(copied), batch.select(copied).slice(0, 0)])
                for j, i in enumerate(copied):
                    columns[i] = own.column(j)
            batches.put(columns)
        batches.put(None)
    except BaseException as exc:  # handed to the converting thread, which raises it
        batches.put(exc)


def _copied_columns(cols: list[reflect.Column], json: str, as_arrow: bool = False) -> tuple[int, ...]:
    """Which columns to copy out of each batch: all but the parsed ones, when some are parsed (into objects or nested)."""
    parsed = {
        i
        for i, c in enumerate(cols)
        if (c.kind == "vector" and not as_arrow) or (c.kind == "json" and json in ("objects", "nested"))
    }
    return tuple(i for i in range(len(cols)) if i not in parsed) if parsed else ()


def _nests(col: reflect.Column, json: str) -> bool:
    return col.kind == "json" and json == "nested"


def _promote_new_objects() -> None:
    """Move the millions of objects just made into the oldest GC generation at once (gc.freeze + gc.unfreeze).

    Re-enabled as it was, the collector would traverse all of them in the next young collection (seconds
    on `large`) and again in the middle one; they are long-lived results, so they go where such objects end
    up anyway. Skipped when the caller has frozen objects of their own (unfreeze would release those too).
    """
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()


def _unconvertible(col: reflect.Column, exc: Exception) -> str:
    """Why column `col` cannot be converted, naming it (and, for out-of-range times, what to do)."""
    if col.kind in ("timestamptz", "native") and ("out of bounds" in str(exc) or "out of range" in str(exc)):
        return (
            f"column {col.name!r} holds a date or time pandas cannot represent (±infinity, or a timestamp before 1677 or after 2262); "
            "leave it out with `columns=` or filter those rows out with `where=`"
        )
    return f"column {col.name!r}: {str(exc).rstrip('.')}"
