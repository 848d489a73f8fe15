"""One consistent snapshot: load_all and every metric's Engine path never hold half of a concurrent write; snapshot()."""

from __future__ import annotations

import dataclasses

import pandas as pd
import psycopg
import pytest
import sqlalchemy
from writer import TAG, Writer, assert_whole

from opentier_explore import OpentierError, Snapshot, connect, load, load_all, metrics, snapshot, tour
from opentier_explore.errors import ConfigError


@pytest.fixture(scope="module")
def engine(tiny_url):
    eng = connect(tiny_url)
    yield eng
    eng.dispose()


def _count(url: str, sql: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchone()[0]


def test_load_all_never_holds_half_a_write(engine, tiny_url):
    with Writer(tiny_url) as writer:
        writer.wait_rounds(3)
        for _ in range(3):
            before = writer.rounds
            frames = load_all(engine=engine)
            assert writer.rounds > before, "no write landed while load_all read: the test would prove nothing"
            assert assert_whole(frames) > 0


def _invariants(engine) -> dict[str, int]:
    """Differences between figures one Engine-path call computes in different queries: constant under whole writes."""
    mod = metrics.moderation_latency(engine)
    observed, censored = int(mod.life_table["observed"].sum()), int(mod.life_table["censored"].sum())
    # logins: the writer's chat rows carry the server's clock, which would move the chat-activity as_of
    churn = metrics.session_churn(engine, activity="sessions")
    return {
        "moderation: by_status - life table": int(mod.by_status.sum()) - observed - censored,
        "moderation: observed - by_reviewer": observed - int(mod.by_reviewer["n_reviewed"].sum()),
        "moderation: inconsistent rows": len(mod.inconsistent),
        "churn: users - cohort sizes": len(churn.sessions_per_user) - int(churn.cohort_sizes.sum()),
    }


def test_engine_path_metrics_never_hold_half_a_write(engine, tiny_url):
    baseline = _invariants(engine)
    kinds = metrics.branch_kinds(engine)
    with Writer(tiny_url) as writer:
        writer.wait_rounds(3)
        for _ in range(4):
            before = writer.rounds
            assert _invariants(engine) == baseline
            trees = metrics.conversation_trees(engine)
            pd.testing.assert_frame_equal(metrics.branch_kinds(engine), kinds)  # writes add linear chains only
            assert writer.rounds > before, "no write landed while the metrics ran: the test would prove nothing"
        mine = _count(tiny_url, f"SELECT array_agg(id::text) FROM conversations WHERE title LIKE '{TAG}%'")
        seen = trees.loc[trees.index.intersection(mine)]
        assert len(seen) and (seen["n_messages"] == 3).all() and (seen["max_depth"] == 3).all()


def _assert_same(a, b) -> None:
    if dataclasses.is_dataclass(a):
        for field in dataclasses.fields(a):
            _assert_same(getattr(a, field.name), getattr(b, field.name))
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=False)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=False)
    else:
        assert (pd.isna(a) and pd.isna(b)) or a == b


def test_one_snapshot_shared_by_loads_and_both_metric_paths(engine, tiny_url):
    with Writer(tiny_url) as writer, snapshot(engine) as snap:
        writer.wait_rounds(3)
        first = load("conversations", engine=snap)
        frames = load_all(engine=snap)
        assert writer.rounds > 3 and assert_whole(frames) > 0
        pd.testing.assert_frame_equal(frames["conversations"], first)
        for metric in (
            metrics.conversation_trees,
            metrics.tree_faults,
            metrics.branch_kinds,
            metrics.moderation_latency,
            metrics.session_churn,
        ):
            _assert_same(metric(snap), metric(frames))
        assert tour.table_sizes(snap).loc["conversations", "rows"] == len(first)
        # any SQLAlchemy use of the snapshot sees the same moment
        assert pd.read_sql("SELECT count(*) AS n FROM conversations", snap)["n"].iloc[0] == len(first)
        writer.wait_rounds(2)
        assert len(load("conversations", engine=engine)) > len(first)  # a plain engine sees the present
        assert len(load("conversations", engine=snap)) == len(first)


def test_a_snapshot_lives_across_calls_until_closed(engine):
    snap = snapshot(engine)
    assert isinstance(snap, Snapshot) and isinstance(snap, sqlalchemy.Engine) and not snap.closed
    assert "***" not in repr(snap) and snap.snapshot_id in repr(snap)
    n = len(load("users", engine=snap))
    snap.close()
    assert snap.closed
    with pytest.raises(
        OpentierError,
        match=r"^Snapshot \S+ is closed \(by close\(\), or the server ended its session\): take a new one with snapshot\(\)\.$",
    ):
        load("users", engine=snap)
    with pytest.raises(OpentierError, match="is closed"):
        metrics.session_churn(snap)
    assert len(load("users", engine=engine)) == n  # closing the snapshot leaves the engine it came from working


def test_snapshot_accepts_a_url_and_refuses_other_things(tiny_url):
    with snapshot(tiny_url) as snap:
        assert len(load("users", engine=snap, limit=2)) == 2
    with pytest.raises(
        ConfigError, match=r"^snapshot\(\) needs an Engine from connect\(\), not dict: pass connect\(url\)\.$"
    ):
        snapshot({})


def test_a_failed_call_leaves_the_snapshot_usable(engine):
    with snapshot(engine) as snap:
        with pytest.raises(OpentierError, match="division by zero"):
            load("users", engine=snap, where="1 / 0 = 1")
        assert len(load("users", engine=snap, limit=3)) == 3


def test_settings_stay_local_to_the_metric_transaction(engine):
    with engine.connect() as conn:
        default = conn.exec_driver_sql("SHOW work_mem").scalar_one()
    metrics.conversation_trees(engine)
    metrics.tree_faults(engine)
    for _ in range(3):  # every pooled connection
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW work_mem").scalar_one() == default


def _closed_by_the_server(engine) -> None:
    """Raise the error a read gets when the server ends its session under it (here: another session terminates it)."""
    with engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with engine.connect() as other:
            assert other.exec_driver_sql(f"SELECT pg_terminate_backend({pid})").scalar_one()
        conn.exec_driver_sql("SELECT 1")


def test_a_read_whose_session_the_server_closed_is_retried_once_then_one_sentence(engine):
    from opentier_explore import snapshots
    from opentier_explore.errors import ConnectionFailed

    with pytest.raises(sqlalchemy.exc.OperationalError) as closed:
        _closed_by_the_server(engine)
    assert snapshots.session_ended(closed.value) and not snapshots.is_recovery_conflict(closed.value)
    calls = []

    def read_after_one_closed_session():
        calls.append(len(calls))
        if len(calls) == 1:
            _closed_by_the_server(engine)
        return load("users", engine=engine, limit=3)  # inside the retry, as every kit read is

    assert len(snapshots._retrying(read_after_one_closed_session)) == 3 and calls == [0, 1]
    with pytest.raises(ConnectionFailed, match=r"closed the connection twice during this read.*then run it again\.$"):
        snapshots._retrying(lambda: _closed_by_the_server(engine))
