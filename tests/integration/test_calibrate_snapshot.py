"""Calibration's snapshot: connections opened to run its walks at once see the moment of the first one, read-only;
a session the server ends is reported as lost (for calibrate's one retry)."""

from __future__ import annotations

import psycopg
import pytest

from opentier_explore.calibrate import snapshot
from opentier_explore.snapshots import SessionLost, session_ended

END_ITSELF = "SELECT pg_terminate_backend(pg_backend_pid())"


def test_at_once_runs_every_job_in_the_connections_snapshot(migrated_url: str) -> None:
    with psycopg.connect(migrated_url, autocommit=True) as writer:
        writer.execute("CREATE TABLE moments (x int)")
        writer.execute("INSERT INTO moments VALUES (1)")
        with snapshot.snapshot(migrated_url) as conn:
            assert conn.execute("SELECT count(*) FROM moments").fetchone()[0] == 1
            writer.execute("INSERT INTO moments VALUES (2)")  # after the snapshot's moment: no job may see it

            def job(n: int):
                return lambda c: (
                    n,
                    c.execute("SELECT count(*), current_setting('transaction_read_only') FROM moments").fetchone(),
                )

            assert snapshot.at_once(conn, [job(n) for n in range(3)]) == [(n, (1, "on")) for n in range(3)]
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                snapshot.at_once(conn, [lambda c: c.execute("INSERT INTO moments VALUES (3)")])
        assert writer.execute("SELECT count(*) FROM moments").fetchone()[0] == 2


def test_a_session_the_server_ends_is_lost_on_the_snapshot_and_on_a_job(migrated_url: str) -> None:
    with pytest.raises(SessionLost) as on_snapshot:
        with snapshot.snapshot(migrated_url) as conn:
            conn.execute(END_ITSELF)
    with snapshot.snapshot(migrated_url) as conn:
        with pytest.raises(SessionLost) as on_job:
            snapshot.at_once(conn, [lambda c: c.execute("SELECT 1"), lambda c: c.execute(END_ITSELF)])
        assert conn.execute("SELECT 1").fetchone() == (1,)  # the snapshot's own session lives on
    assert session_ended(on_snapshot.value) and session_ended(on_job.value)
