"""On a real streaming hot standby (tests/replica.py) while the primary is written: every kit read, the five
notebooks (04 seeding its twin on the kit's local server), and recovery conflicts provoked by a VACUUM on the primary
(retried once, then one sentence), in calibration too."""

from __future__ import annotations

import threading
import time

import pandas as pd
import psycopg
import pytest
import sqlalchemy
from writer import Writer, assert_whole

import opentier_explore.calibrate as calibration
from opentier_explore import config, connect, load, load_all, metrics, snapshot, tour
from opentier_explore.errors import RecoveryConflict

SENTENCE = (
    "The hot standby cancelled this read twice because replaying the primary's changes (e.g. a VACUUM) removed rows "
    "it still needed (a recovery conflict): set hot_standby_feedback = on on the standby, or a larger "
    "max_standby_streaming_delay, then run it again."
)
CONFLICTS = {"max_standby_streaming_delay": "0", "hot_standby_feedback": "off"}
SLOW = "(SELECT slow_true(1.5))"  # an InitPlan: the load's query sleeps once, holding its snapshot


@pytest.fixture(scope="module")
def urls(replica):
    """(primary URL, standby URL) of a migrated database seeded with `tiny`, with the conflict bait in place."""
    from opentier_explore import migrate, seeding

    primary, standby = replica.create_db("hs_tiny")
    migrate.up(primary)
    seeding.run(primary, profile="tiny", seed=42, truncate=False, progress=False)
    with psycopg.connect(primary, autocommit=True) as conn:
        # test-only objects, made on the primary: the standby only reads them
        conn.execute("CREATE TABLE bait (id int)")
        conn.execute(
            "CREATE FUNCTION slow_true(s float8) RETURNS boolean LANGUAGE sql AS $$ SELECT true FROM pg_sleep(s) $$"
        )
    replica.wait_replayed()
    return primary, standby


@pytest.fixture(scope="module")
def standby_engine(urls):
    eng = connect(urls[1])
    yield eng
    eng.dispose()


def _scalar(url: str, sql: str, params=()):
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchone()[0]


def test_the_copy_is_a_read_only_hot_standby(urls):
    assert _scalar(urls[1], "SELECT pg_is_in_recovery()") is True
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        _scalar(urls[1], "CREATE TEMP TABLE probe (id int)")


def test_every_kit_read_works_on_the_standby_while_the_primary_is_written(urls, replica, standby_engine):
    with standby_engine.connect() as conn:
        default = conn.exec_driver_sql("SHOW work_mem").scalar_one()
    with Writer(urls[0]) as writer:
        writer.wait_rounds(5)
        replica.wait_replayed()
        frames = load_all(engine=standby_engine)
        assert assert_whole(frames) > 0
        with snapshot(standby_engine) as snap:
            assert snap.on_standby
            for metric in (
                metrics.conversation_trees,
                metrics.tree_faults,
                metrics.branch_kinds,
                metrics.moderation_latency,
                metrics.session_churn,
            ):
                metric(snap)
                metric(standby_engine)
            for measure in (
                tour.table_sizes,
                tour.relations,
                tour.orphan_conversations,
                tour.message_split,
                tour.monthly_messages,
            ):
                measure(snap)
            assert assert_whole(load_all(engine=snap)) > 0
    for _ in range(3):  # SET LOCAL only: no pooled connection keeps a setting
        with standby_engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW work_mem").scalar_one() == default


def _databases(url: str) -> set[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        return {r[0] for r in conn.execute("SELECT datname FROM pg_database").fetchall()}


def test_the_five_notebooks_run_on_the_standby_while_the_primary_is_written(urls, replica):
    from opentier_explore import config, execute, server

    paths = execute.notebooks()
    assert [p.stem[:2] for p in paths] == ["00", "01", "02", "03", "04"]
    # a snapshot held across cells needs what README advises for a replica: feedback, or a long delay
    with replica.standby_settings(hot_standby_feedback="on"), Writer(urls[0]) as writer, execute.database_env(urls[1]):
        writer.wait_rounds(3)
        for path in paths:
            before = writer.rounds
            nb = execute.run(path)  # raises ReportError, naming the notebook, if a cell fails
            code = [c for c in nb.cells if c.cell_type == "code"]
            assert code and all(c.execution_count for c in code), f"{path.name} did not run to its end"
            assert not [o for c in code for o in c.outputs if o.output_type == "error"]
            assert writer.rounds > before, f"no write landed on the primary while {path.name} ran"
    # 04 read the standby only: its twin is on the kit's local server, not on the primary (nor so the standby)
    assert not any(name.startswith("opentier_twin") for name in _databases(urls[0]))
    assert "opentier_twin_04" in _databases(server.url(config.pgdata(), "postgres"))


class _Vacuums(threading.Thread):
    """Makes recovery conflicts: deletes rows on the primary that standby snapshots still see, then VACUUMs them away."""

    def __init__(self, primary: str, standby: str, *, once_when_running: str | None = None) -> None:
        super().__init__(daemon=True)
        self.primary, self.standby, self.trigger = primary, standby, once_when_running
        self.halt = threading.Event()
        self.rounds = 0

    def run(self) -> None:
        with psycopg.connect(self.primary, autocommit=True) as conn:
            if self.trigger is not None:  # once the standby runs the query: one conflict, then quiet
                while not self.halt.is_set() and not _scalar(
                    self.standby,
                    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE %s",
                    (f"%{self.trigger}%",),
                ):
                    time.sleep(0.02)
                self._round(conn)
                return
            while not self.halt.is_set():
                self._round(conn)
                time.sleep(0.02)

    def _round(self, conn: psycopg.Connection) -> None:
        conn.execute("INSERT INTO bait SELECT generate_series(1, 50)")
        conn.execute("DELETE FROM bait")
        conn.execute("VACUUM bait")
        self.rounds += 1

    def __enter__(self) -> _Vacuums:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.halt.set()
        self.join(30)


def _conflicts(standby: str) -> int:
    return _scalar(standby, "SELECT confl_snapshot FROM pg_stat_database_conflicts WHERE datname = current_database()")


def _wait_conflicts_above(standby: str, before: int) -> int:
    deadline = time.monotonic() + 15
    while (now := _conflicts(standby)) <= before and time.monotonic() < deadline:
        time.sleep(0.1)
    return now


def _seed_bait(primary: str, replica) -> None:
    with psycopg.connect(primary, autocommit=True) as conn:
        conn.execute("INSERT INTO bait SELECT generate_series(1, 50)")
    replica.wait_replayed()


def test_a_read_cancelled_by_a_recovery_conflict_is_retried_once(urls, replica, standby_engine):
    primary, standby = urls
    users = _scalar(standby, "SELECT count(*) FROM users")
    with replica.standby_settings(**CONFLICTS):
        _seed_bait(primary, replica)
        before = _conflicts(standby)
        with _Vacuums(primary, standby, once_when_running="slow_true") as vac:
            frame = load("users", engine=standby_engine, columns=["id"], where=SLOW)
        assert vac.rounds == 1
        assert len(frame) == users  # the second attempt, in a new snapshot, read everything
        assert _wait_conflicts_above(standby, before) > before  # and the first one really was cancelled


@pytest.fixture
def slow(urls):
    """A standby engine whose every query sleeps 0.5 s first, in its snapshot: a metric as slow as on a large database,
    so its snapshot lives through a VACUUM's replay (on `tiny` it could finish between two of them)."""
    eng = connect(urls[1])

    def sleep_first(conn, cursor, statement, parameters, context, executemany):
        # on the Engine class: the metric reads through a Snapshot of `eng`, an Engine of its own
        if getattr(conn.engine, "source", conn.engine) is eng and statement.lstrip().upper().startswith(
            ("SELECT", "WITH")
        ):
            cursor.execute("SELECT pg_sleep(0.5)")

    sqlalchemy.event.listen(sqlalchemy.Engine, "before_cursor_execute", sleep_first)
    try:
        yield eng
    finally:
        sqlalchemy.event.remove(sqlalchemy.Engine, "before_cursor_execute", sleep_first)
        eng.dispose()


def test_a_read_cancelled_twice_is_one_sentence_naming_the_settings(urls, replica, standby_engine, slow):
    primary, standby = urls
    with replica.standby_settings(**CONFLICTS):
        before = _conflicts(standby)
        with _Vacuums(primary, standby) as vac:
            vac_started = time.monotonic()
            while vac.rounds < 2 and time.monotonic() - vac_started < 30:
                time.sleep(0.02)
            with pytest.raises(RecoveryConflict) as load_error:
                load("users", engine=standby_engine, where=SLOW)
            with pytest.raises(RecoveryConflict) as metric_error:
                metrics.moderation_latency(slow)
        assert str(load_error.value) == SENTENCE and str(metric_error.value) == SENTENCE
        assert _wait_conflicts_above(standby, before + 1) >= before + 2


def test_a_snapshot_cancelled_before_its_first_read_is_renewed(urls, replica, standby_engine):
    primary, standby = urls
    with replica.standby_settings(**CONFLICTS):
        _seed_bait(primary, replica)
        snap = snapshot(standby_engine)
        first_id = snap.snapshot_id
        with _Vacuums(primary, standby) as vac:
            while vac.rounds < 2:
                time.sleep(0.02)
        replica.wait_replayed()  # the anchor of `snap` has been cancelled by now
        try:
            assert len(load("users", engine=snap)) == _scalar(standby, "SELECT count(*) FROM users")
            assert snap.snapshot_id != first_id  # renewed: nothing had been read in the old one
        finally:
            snap.close()


def test_a_snapshot_cancelled_after_a_read_is_not_silently_replaced(urls, replica, standby_engine):
    primary, standby = urls
    with replica.standby_settings(**CONFLICTS):
        _seed_bait(primary, replica)
        with snapshot(standby_engine) as snap:
            users = load("users", engine=snap)
            with _Vacuums(primary, standby) as vac:
                while vac.rounds < 2:
                    time.sleep(0.02)
            replica.wait_replayed()
            with pytest.raises(
                RecoveryConflict,
                match=r"^The hot standby cancelled snapshot \S+ because replaying the "
                r"primary's changes removed rows it still showed \(a recovery conflict\): take a new one "
                r"with snapshot\(\), and set hot_standby_feedback = on on the standby, or a larger "
                r"max_standby_streaming_delay to keep snapshots longer\.$",
            ):
                load("users", engine=snap)
    assert isinstance(users, pd.DataFrame)


class _Terminator(threading.Thread):
    """Ends, once, the session of the oldest kit connection on `url` that is inside a transaction."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.ended = url, 0

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            deadline = time.monotonic() + 60
            while not self.ended and time.monotonic() < deadline:
                self.ended = conn.execute(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM (SELECT pid FROM pg_stat_activity "
                    "WHERE application_name = %s AND xact_start IS NOT NULL ORDER BY backend_start LIMIT 1) a",
                    (config.APPLICATION_NAME,),
                ).fetchone()[0]
                time.sleep(0.005)


def test_a_calibration_whose_session_the_server_ends_is_read_again(urls, monkeypatch):
    standby = urls[1]
    undisturbed = calibration.calibrate(standby)
    attempts, once = [], calibration._calibrate
    monkeypatch.setattr(calibration, "_calibrate", lambda *args: attempts.append(1) or once(*args))
    terminator = _Terminator(standby)
    terminator.start()
    text = calibration.calibrate(standby)
    terminator.join(60)
    assert terminator.ended == 1 and len(attempts) == 2  # the first snapshot's session was ended mid-read
    assert text == undisturbed  # the second read everything, in a new snapshot


def test_a_calibration_cancelled_twice_is_one_sentence_naming_the_settings(urls, replica):
    primary, standby = urls
    with replica.standby_settings(**CONFLICTS):
        before = _conflicts(standby)
        with _Vacuums(primary, standby) as vac:
            while vac.rounds < 2:
                time.sleep(0.02)
            with pytest.raises(RecoveryConflict) as error:
                calibration.calibrate(standby)
        assert str(error.value) == SENTENCE
        assert _wait_conflicts_above(standby, before + 1) >= before + 2
