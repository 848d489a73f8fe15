"""The database layer on a real server: nothing hung on SQLAlchemy's objects, read-only queries, the catalog's tables."""

from __future__ import annotations

import pytest
import sqlalchemy

from opentier_explore import db, snapshot


def test_connect_keeps_its_url_off_the_engine(tiny_url: str) -> None:
    engine = db.connect(tiny_url)
    try:
        assert db.engine_url(engine) == tiny_url
        assert not [name for name in vars(engine) if "opentier" in name or name == "libpq"]
        with snapshot(engine) as snap:
            assert db.engine_url(snap) == tiny_url and not hasattr(snap, "opentier_url")
    finally:
        engine.dispose()


def test_read_frame_runs_read_only_even_on_a_writable_engine(tiny_url: str) -> None:
    engine = db.connect(tiny_url, read_only=False)
    try:
        frame = db.read_frame(engine, "SELECT current_setting('transaction_read_only') AS ro, :n AS n", {"n": 3})
        assert frame.to_dict("records") == [{"ro": "on", "n": 3}]
        with pytest.raises(sqlalchemy.exc.InternalError, match="read-only transaction"):
            db.read_rows(engine, "CREATE TABLE should_not_exist (x int)")
        settings = {"work_mem": "7MB"}
        assert db.read_rows(engine, "SELECT current_setting('work_mem')", settings=settings)[1] == [("7MB",)]
    finally:
        engine.dispose()


def test_tables_leave_out_views_and_bookkeeping(migrated_url: str) -> None:
    import psycopg

    with psycopg.connect(migrated_url, autocommit=True) as conn:
        conn.execute("CREATE VIEW user_ids AS SELECT id FROM users")
    engine = db.connect(migrated_url)
    try:
        names = db.tables(engine)
        assert names == sorted(names) and "users" in names and "chat_messages" in names
        assert not [n for n in names if n.startswith("_")] and "user_ids" not in names
        found = db.relations(engine)
        assert found["user_ids"] is True and found["_sqlx_migrations"] is False
        with db.connection(migrated_url, read_only=True) as conn:
            assert db.tables(conn) == names
    finally:
        engine.dispose()


def test_a_read_whose_session_ends_before_its_rollback_keeps_its_rows(tiny_url: str) -> None:
    # What a hot standby does to an idle read-only transaction in a recovery conflict: the session is ended between
    # the last read and the ROLLBACK. The reads are complete, so they are returned, and the dead connection is dropped.
    import psycopg

    engine = db.connect(tiny_url)
    try:
        with db.reading(engine) as conn:
            pid, users = conn.exec_driver_sql("SELECT pg_backend_pid(), (SELECT count(*) FROM users)").one()
            with psycopg.connect(tiny_url, autocommit=True) as other:
                assert other.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0] is True
        assert users > 0
        assert db.read_rows(engine, "SELECT count(*) FROM users")[1] == [(users,)]  # the pool gives a live one
    finally:
        engine.dispose()
