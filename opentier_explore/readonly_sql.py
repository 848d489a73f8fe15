"""A SQLAlchemy Engine for ad-hoc SQL typed by a person (`%sql`): reads only, every transaction read-only.

Three locks, each enough for an ordinary write: the session default `default_transaction_read_only=on`
(as `connect()` sets it), every transaction opened `BEGIN READ ONLY` by psycopg, and each statement's first
keyword checked against the reading ones, so `SET`, `COMMIT`/`BEGIN`, DDL and DML never reach the server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import db
from .errors import ReadOnlyRefused

if TYPE_CHECKING:
    import sqlalchemy

#: The statements ad-hoc SQL may run: they read (a data-modifying WITH still meets the read-only transaction).
READ_STATEMENTS = ("SELECT", "WITH", "VALUES", "TABLE", "SHOW", "EXPLAIN")


def first_keyword(statement: str) -> str:
    """The statement's first word, upper-cased, after comments and opening parentheses ('' if there is none)."""
    import sqlparse
    from sqlparse import tokens

    for part in sqlparse.parse(statement):
        for token in part.flatten():
            if token.is_whitespace or token.ttype in tokens.Comment or token.match(tokens.Punctuation, "("):
                continue
            return token.normalized.upper()
    return ""


def check_reads_only(statement: str) -> None:
    """ReadOnlyRefused unless every statement in `statement` starts with a reading keyword."""
    import sqlparse

    for part in sqlparse.split(statement) or [statement]:
        keyword = first_keyword(part)
        if keyword and keyword not in READ_STATEMENTS:
            raise ReadOnlyRefused(
                f"%sql only reads: {keyword} is refused because the notebook's database is opened read-only; "
                f"start the statement with {', '.join(READ_STATEMENTS[:-1])} or {READ_STATEMENTS[-1]}."
            )


def _read_only_session(dbapi_connection, connection_record) -> None:
    dbapi_connection.read_only = True  # psycopg opens every transaction with BEGIN READ ONLY


def _guard(conn, cursor, statement, parameters, context, executemany) -> None:
    check_reads_only(statement)


def _translate(context) -> Exception | None:
    import psycopg

    orig = context.original_exception
    if isinstance(orig, psycopg.errors.ReadOnlySqlTransaction):
        return ReadOnlyRefused(
            "%sql only reads: the statement tried to write and the read-only transaction refused it; "
            "nothing was changed."
        )
    # A server that cannot be reached (re)connecting: one sentence, password masked. A connection lost mid-session
    # is left to jupysql, which rolls back and retries; a cancelled query keeps its own message.
    if context.connection is None and context.engine is not None and isinstance(orig, psycopg.OperationalError):
        return db.translate(orig, db.engine_url(context.engine))
    return None


def read_only_engine(url: str | None = None) -> sqlalchemy.Engine:
    """An Engine on the database (`url`, `$DATABASE_URL`, else the embedded server) that only ever reads."""
    from sqlalchemy import event

    engine = db.connect(url, read_only=True)
    event.listen(engine, "connect", _read_only_session)
    event.listen(engine, "before_cursor_execute", _guard)
    event.listen(engine, "handle_error", _translate)
    engine.dispose()  # the connection `connect()` tested was opened before the listeners
    return engine
