"""The embedded server's life through the CLI, in a data directory of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg

from opentier_explore import config, server


def cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != config.DATABASE_URL_ENV}
    env[config.HOME_ENV] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "opentier_explore", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=config.PROJECT_DIR,
    )


def test_a_home_whose_path_holds_a_space(tmp_path: Path) -> None:
    """A clone under e.g. `~/My Projects/` works: the wheel's unquoted socket option must not split the path."""
    home = tmp_path / "My Projects" / ".opentier"
    try:
        started = cli(home, "db", "start")
        assert started.returncode == 0, started.stderr
        url = server.url(home / "pgdata")
        assert url is not None
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT current_database()").fetchone()[0] == config.EMBEDDED_DATABASE
        assert cli(home, "db", "status").returncode == 0
    finally:
        stopped = cli(home, "db", "stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout, stopped.stderr
    assert cli(home, "db", "status").returncode == 3
