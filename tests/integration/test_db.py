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


def test_read_arrow_reads_a_result_as_typed_columns(tiny_url: str) -> None:
    engine = db.connect(tiny_url, read_only=False)
    try:
        sql = (
            "SELECT * FROM (VALUES ('plain', 1), ('', 2), (NULL, 3), ('a,\"b\"' || chr(10) || 'c', NULL)) AS v(s, n) "
            "UNION ALL SELECT current_setting('transaction_read_only') || current_setting('work_mem'), 5"
        )
        table = db.read_arrow(engine, sql, {"s": "string", "n": "int64"}, {"work_mem": "7MB"})
        assert [str(t) for t in table.schema.types] == ["string", "int64"]
        assert table.to_pylist() == [
            {"s": "plain", "n": 1},
            {"s": "", "n": 2},  # the empty string stays one, NULL is null
            {"s": None, "n": 3},
            {"s": 'a,"b"\nc', "n": None},
            {"s": "on7MB", "n": 5},  # read-only, with the settings
        ]
        empty = db.read_arrow(engine, "SELECT 'x' AS s WHERE false", {"s": "string"})
        assert empty.num_rows == 0 and str(empty.schema.types[0]) == "string"
        with snapshot(engine) as snap:
            moment = db.read_arrow(snap, "SELECT pg_current_snapshot()::text AS s", {"s": "string"})
            assert (
                moment.to_pylist()
                == db.read_arrow(snap, "SELECT pg_current_snapshot()::text", {"s": "string"}).to_pylist()
            )
    finally:
        engine.dispose()


def test_read_arrow_reports_a_session_ended_mid_read_as_an_invalidated_connection(tiny_url: str) -> None:
    # what the snapshot's retry looks for (snapshots.session_ended): the driver's error as SQLAlchemy would raise it
    engine = db.connect(tiny_url)
    try:
        sql = "SELECT pg_terminate_backend(pg_backend_pid())::text AS s FROM generate_series(1, 3)"
        with pytest.raises(sqlalchemy.exc.DBAPIError) as caught:
            db.read_arrow(engine, sql, {"s": "string"})
        assert caught.value.connection_invalidated
        assert db.read_arrow(engine, "SELECT 'alive' AS s", {"s": "string"}).to_pylist() == [{"s": "alive"}]
    finally:
        engine.dispose()
