"""Connections: which server (explicit URL, `$DATABASE_URL`, else the embedded one), masked URLs, clear errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from . import config
from .errors import ConfigError, ConnectionFailed, OpentierError

if TYPE_CHECKING:
    import psycopg
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


def resolve_url(url: str | None = None, *, start: bool = True) -> str:
    """The libpq URL to use: `url`, else `$DATABASE_URL`, else the embedded server's (started on demand)."""
    if url is not None and not url.strip():
        # An explicit but empty URL (e.g. `--database-url "$UNSET_VAR"`) must not fall back to another server.
        raise ConfigError(
            "The database URL is empty: give postgresql://USER:PASSWORD@HOST:PORT/DATABASE, "
            "or leave it out to use $DATABASE_URL or the embedded server."
        )
    chosen = url or config.database_url_from_env()
    if chosen:
        return normalize_url(chosen)
    from . import server

    if start:
        return server.start()
    running = server.url()
    if running is None:
        raise ConnectionFailed("The embedded PostgreSQL server is not running: run `opentier-explore db start`.")
    return running


def database_name(url: str) -> str:
    """The database a libpq URL points at."""
    from psycopg import conninfo

    params = conninfo.conninfo_to_dict(url)
    return str(params.get("dbname") or params.get("user") or "postgres")


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
    """An open psycopg 3 connection, with connection failures turned into one-sentence errors."""
    import psycopg

    url = resolve_url(url)
    options = "-c default_transaction_read_only=on" if read_only else None
    try:
        return psycopg.connect(
            url, autocommit=autocommit, application_name=config.APPLICATION_NAME, connect_timeout=10, options=options
        )
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


def connect(url: str | None = None, *, read_only: bool = True) -> sqlalchemy.Engine:
    """A SQLAlchemy Engine on the database; with `read_only`, every transaction is read-only."""
    import sqlalchemy

    libpq = resolve_url(url)
    connect_args: dict[str, object] = {"application_name": config.APPLICATION_NAME, "connect_timeout": 10}
    if read_only:
        connect_args["options"] = "-c default_transaction_read_only=on"
    engine = sqlalchemy.create_engine(sqlalchemy_url(libpq), connect_args=connect_args, pool_pre_ping=True)
    engine.opentier_url = libpq  # type: ignore[attr-defined]  # the libpq URL, for COPY-based loading
    try:
        with engine.connect():
            pass
    except sqlalchemy.exc.DBAPIError as exc:
        engine.dispose()
        raise translate(exc, libpq) from None
    return engine


def engine_url(engine: sqlalchemy.Engine) -> str:
    """The libpq URL an Engine connects to (password included: never print it unmasked)."""
    url = getattr(engine, "opentier_url", None)
    if url:
        return url
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
