"""The kit's one database layer: which server, connection options, connections and engines, read-only queries,
the catalog's tables, and the driver's errors turned into sentences (passwords always masked)."""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import config, server
from .errors import ConfigError, ConnectionFailed, OpentierError

if TYPE_CHECKING:
    import pandas as pd
    import psycopg
    import pyarrow as pa
    import sqlalchemy

_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2", "postgresql+asyncpg")
# The user part may follow a scheme or start the string (a URL typed without one); the password runs to the
# last "@", so unencoded "/", "?", "@", spaces or line breaks in it are masked too (over-masking is the safe side).
_USERINFO = re.compile(r"(?P<pre>(?:^|://)[^:/@?#\s]*):(?!//)(?P<pw>.*)@", re.DOTALL)
# A password parameter's value runs to the next "&", the next ` key=` (conninfo strings) or the end, spaces included.
_PW_PARAM = re.compile(r"(?P<key>password\s*=\s*)(?P<pw>'[^']*'|.*?)(?=&|\s+\w+\s*=|\Z)", re.IGNORECASE | re.DOTALL)


def mask_url(url: str) -> str:
    """The URL with any password replaced by `***`, safe to print."""
    masked = _USERINFO.sub(lambda m: f"{m['pre']}:***@" if m["pw"] else f"{m['pre']}@", url)
    return _PW_PARAM.sub(lambda m: f"{m['key']}***", masked)


def normalize_url(url: str) -> str:
    """A libpq URL (`postgresql://…`) for `url`, accepting SQLAlchemy-style driver names; ConfigError if malformed."""
    from psycopg import conninfo

    url = url.strip()
    scheme, sep, rest = url.partition("://")
    # A line break or other control character (a mangled paste) is never part of a valid URL.
    if not sep or scheme.lower() not in _SCHEMES or re.search(r"[\x00-\x1f\x7f]", url):
        raise ConfigError(
            f"The database URL {mask_url(url)!r} is malformed: use postgresql://USER:PASSWORD@HOST:PORT/DATABASE."
        )
    libpq = f"postgresql://{rest}"
    try:
        params = conninfo.conninfo_to_dict(libpq)
    except Exception as exc:  # psycopg raises ProgrammingError for any parse failure
        raise ConfigError(
            f"The database URL {mask_url(url)!r} is malformed: use postgresql://USER:PASSWORD@HOST:PORT/DATABASE."
        ) from exc
    # libpq would reject a non-numeric port only after psycopg failed to resolve the host, with a misleading message.
    ports = str(params.get("port") or "").split(",")
    if any(p and not (p.isdigit() and 0 < int(p) < 65536) for p in ports):
        raise ConfigError(
            f"The database URL {mask_url(url)!r} has an invalid port: use postgresql://USER:PASSWORD@HOST:PORT/DATABASE."
        )
    return libpq


def resolve_url(url: str | None = None) -> str | None:
    """The libpq URL named by `url`, else by `$DATABASE_URL`; None when neither names one (the embedded server is meant)."""
    if url is not None and not url.strip():
        # An explicit but empty URL (e.g. `--database-url "$UNSET_VAR"`) must not fall back to another server.
        raise ConfigError(
            "The database URL is empty: give postgresql://USER:PASSWORD@HOST:PORT/DATABASE, "
            "or leave it out to use $DATABASE_URL or the embedded server."
        )
    chosen = url or config.database_url_from_env()
    return normalize_url(chosen) if chosen else None


# --- connection options ---------------------------------------------------------------------------------------

#: The libpq `options` that make a session read-only (every transaction defaults to READ ONLY).
READ_ONLY_OPTIONS = "-c default_transaction_read_only=on"


def connect_args(*, read_only: bool) -> dict[str, object]:
    """The libpq parameters of every kit connection: its application name, the connect timeout, read-only sessions."""
    args: dict[str, object] = {"application_name": config.APPLICATION_NAME, "connect_timeout": config.CONNECT_TIMEOUT}
    if read_only:
        args["options"] = READ_ONLY_OPTIONS
    return args


def read_only_conninfo(url: str) -> str:
    """`url` as a libpq conninfo string with the kit's parameters and a read-only session (for drivers besides psycopg)."""
    from psycopg import conninfo

    params = conninfo.conninfo_to_dict(url)
    params["options"] = (str(params.get("options") or "") + " " + READ_ONLY_OPTIONS).strip()
    for key, value in connect_args(read_only=False).items():
        params.setdefault(key, value)
    return conninfo.make_conninfo(**params)


# --- errors -----------------------------------------------------------------------------------------------------


def driver_message(exc: BaseException) -> str:
    """The first line of a database driver's error, without its `ERROR:` prefix or final period (for one sentence)."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return first.split("ERROR:", 1)[-1].strip().rstrip(".") or type(exc).__name__


def translate(exc: Exception, url: str) -> OpentierError:
    """One-sentence error for a psycopg/SQLAlchemy failure to connect to `url`."""
    text = str(getattr(exc, "orig", None) or exc)
    where = mask_url(url)
    low = text.lower()
    if "password authentication failed" in low or "no password supplied" in low or "authentication failed" in low:
        return ConnectionFailed(
            f"The server at {where} refused the credentials: check the user and password in DATABASE_URL."
        )
    m = re.search(r'database "([^"]+)" does not exist', text)
    if m:
        return ConnectionFailed(
            f"Database {m.group(1)!r} does not exist on the server at {where}: create it or point DATABASE_URL at an existing one."
        )
    m = re.search(r'role "([^"]+)" does not exist', text)
    if m:
        return ConnectionFailed(
            f"User {m.group(1)!r} does not exist on the server at {where}: fix the user in DATABASE_URL."
        )
    if "invalid" in low and (
        "option" in low or "uri" in low or "conninfo" in low or "integer" in low or " value" in low
    ):
        return ConfigError(
            f"The database URL {where!r} is malformed: use postgresql://USER:PASSWORD@HOST:PORT/DATABASE."
        )
    return ConnectionFailed(
        f"Cannot reach a PostgreSQL server at {where}: start it (`opentier-explore db start` for the embedded one) or fix DATABASE_URL."
    )


def raw_connect(url: str | None = None, *, autocommit: bool = False, read_only: bool = False) -> psycopg.Connection:
    """An open psycopg 3 connection (the embedded server started if no URL is named), failures as one sentence."""
    import psycopg

    url = resolve_url(url) or server.start()
    try:
        return psycopg.connect(url, autocommit=autocommit, **connect_args(read_only=read_only))
    except psycopg.Error as exc:
        raise translate(exc, url) from None


@contextmanager
def connection(url: str | None = None, **kwargs) -> Iterator[psycopg.Connection]:
    """`raw_connect` as a context manager that always closes."""
    conn = raw_connect(url, **kwargs)
    try:
        yield conn
    finally:
        conn.close()


def display_url(conn: psycopg.Connection) -> str:
    """A URL naming the connection's server and database (psycopg never exposes the password)."""
    info = conn.info
    host = info.host if not info.host.startswith("/") else ""
    query = f"?host={info.host}&port={info.port}" if not host else ""
    return f"postgresql://{info.user}@{host}{':' + str(info.port) if host else ''}/{info.dbname}{query}"


def sqlalchemy_url(url: str) -> sqlalchemy.URL:
    """The SQLAlchemy URL (psycopg 3 driver) for a libpq URL."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql+psycopg")


# --- engines ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What the kit keeps about an Engine it made: the libpq URL it connects to (password included: never print it)."""

    url: str


# Engine -> Target, for the Engines `connect()` made and the Snapshots taken of them; nothing is set on the Engine.
_targets: weakref.WeakKeyDictionary[Any, Target] = weakref.WeakKeyDictionary()


def remember(engine: sqlalchemy.Engine, url: str) -> None:
    """Record that `engine` (made by the kit) connects to the libpq `url`, for `engine_url`."""
    _targets[engine] = Target(url)


def connect(url: str | None = None, *, read_only: bool = True) -> sqlalchemy.Engine:
    """A SQLAlchemy Engine on the database (the embedded server started if no URL is named); with `read_only`,
    every transaction is read-only."""
    import sqlalchemy

    libpq = resolve_url(url) or server.start()
    engine = sqlalchemy.create_engine(
        sqlalchemy_url(libpq), connect_args=connect_args(read_only=read_only), pool_pre_ping=True
    )
    remember(engine, libpq)  # the libpq URL as given, for COPY-based loading and the kit's raw connections
    try:
        with engine.connect():
            pass
    except sqlalchemy.exc.DBAPIError as exc:
        engine.dispose()
        raise translate(exc, libpq) from None
    return engine


def engine_url(engine: sqlalchemy.Engine) -> str:
    """The libpq URL an Engine connects to (password included: never print it unmasked)."""
    target = _targets.get(engine)
    if target is not None:
        return target.url
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


# --- read-only queries ------------------------------------------------------------------------------------------


@contextmanager
def reading(engine: sqlalchemy.Engine, settings: Mapping[str, str] | None = None) -> Iterator[sqlalchemy.Connection]:
    """A connection of `engine` in a read-only transaction (with `settings` SET LOCAL for it), rolled back after."""
    import sqlalchemy

    with engine.connect() as conn:
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        for name, value in (settings or {}).items():
            conn.execute(sqlalchemy.text("SELECT set_config(:name, :value, true)"), {"name": name, "value": value})
        yield conn
        # Only after success: after a failure (a standby's cancel, a lost connection) closing the connection
        # discards the transaction, and the failure itself is what the caller (and the snapshot retry) must see.
        try:
            conn.rollback()
        except sqlalchemy.exc.OperationalError:
            # The reads are complete; a hot standby may end an idle read-only transaction (a recovery conflict)
            # before its ROLLBACK arrives. Nothing is lost: the connection is discarded instead of returned.
            conn.invalidate()


def read_rows(
    engine: sqlalchemy.Engine,
    sql: str,
    params: Mapping[str, Any] | None = None,
    settings: Mapping[str, str] | None = None,
) -> tuple[list[str], list[tuple]]:
    """The column names and rows of `sql` (`:name` parameters), run in a read-only transaction (`reading`)."""
    import sqlalchemy

    with reading(engine, settings) as conn:
        result = conn.execute(sqlalchemy.text(sql), dict(params or {}))
        rows = [tuple(r) for r in result.all()]
        return list(result.keys()), rows


def read_frame(
    engine: sqlalchemy.Engine,
    sql: str,
    params: Mapping[str, Any] | None = None,
    settings: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The result of `sql` as a DataFrame, run in a read-only transaction (`reading`)."""
    import pandas as pd

    columns, rows = read_rows(engine, sql, params, settings)
    return pd.DataFrame.from_records(rows, columns=columns)


def read_arrow(
    engine: sqlalchemy.Engine,
    sql: str,
    types: Mapping[str, pa.DataType | str],
    settings: Mapping[str, str] | None = None,
) -> pa.Table:
    """The result of `sql` (no parameters; its columns `types`, in order) as an Arrow table, in a read-only
    transaction (`reading`): one COPY of it as CSV, parsed by Arrow, several times faster than rows for big results."""
    import psycopg
    import pyarrow as pa
    import pyarrow.csv as csv

    copy_sql = f"COPY ({sql}) TO STDOUT (FORMAT csv)"
    with reading(engine, settings) as conn:
        driver = conn.connection.driver_connection
        if not isinstance(driver, psycopg.Connection):
            raise ConfigError(
                f"This needs an Engine on the psycopg driver, not {type(driver).__module__}: make it with connect(url)."
            )
        data = bytearray()
        try:
            with driver.cursor() as cur, cur.copy(copy_sql) as copy:
                for block in copy:
                    data += block
        except psycopg.Error as exc:  # as SQLAlchemy would raise it, so that the snapshot's retry knows it
            import sqlalchemy

            lost = driver.broken or driver.closed
            if lost:
                conn.invalidate()
            raise sqlalchemy.exc.DBAPIError.instance(
                copy_sql, None, exc, psycopg.Error, connection_invalidated=lost
            ) from exc
    if not data:  # no rows: Arrow's reader takes an empty input for an error
        return pa.table({name: pa.array([], typ) for name, typ in types.items()})
    return csv.read_csv(
        pa.py_buffer(data),
        read_options=csv.ReadOptions(column_names=list(types)),
        parse_options=csv.ParseOptions(newlines_in_values=True),
        # CSV writes NULL unquoted and the empty string as "": only the former is null
        convert_options=csv.ConvertOptions(
            column_types=dict(types), null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=False
        ),
    )


# --- the catalog's tables ---------------------------------------------------------------------------------------

#: The relations (`pg_class c`, `pg_namespace n`) the kit can read: those of the current schema that are tables,
#: views, materialized views or foreign tables (a partition is read through its parent).
READABLE = "n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition"
RELATIONS_SQL = f"""
SELECT c.relname, c.relkind IN ('v', 'm') AS is_view FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {READABLE} ORDER BY c.relname
"""


def relations(source: sqlalchemy.Engine | psycopg.Connection) -> dict[str, bool]:
    """{name: is a view} of every table and view in the current schema, on an Engine or a psycopg connection."""
    import psycopg

    if isinstance(source, psycopg.Connection):  # the caller's connection: its transaction is the caller's own
        rows = source.execute(RELATIONS_SQL).fetchall()
    else:
        rows = read_rows(source, RELATIONS_SQL)[1]
    return {name: bool(is_view) for name, is_view in rows}


def is_bookkeeping(name: str) -> bool:
    """True for a table that records the database's history rather than OpenTier data (`_sqlx_migrations`, …)."""
    return name.startswith("_")


def tables(source: sqlalchemy.Engine | psycopg.Connection) -> list[str]:
    """The data tables of the current schema, sorted: no views, no bookkeeping tables named `_…`."""
    return [name for name, is_view in relations(source).items() if not is_view and not is_bookkeeping(name)]
