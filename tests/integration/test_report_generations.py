"""`report` and `lab` on databases of both generations the services migrated: read as they are, never written."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import psycopg
import pytest
from _catalog import catalog, ledger
from test_cli_errors import PASSWORD

from opentier_explore import cli, config, report

STDERR_OUTPUT = 'data-mime-type="application/vnd.jupyter.stderr"'


def _with_password(url: str) -> str:
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@", 1)


def _state(url: str) -> tuple:
    with psycopg.connect(url) as conn:
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM chat_messages), "
            "(SELECT count(*) FROM sessions), (SELECT count(*) FROM conversations)"
        ).fetchone()
    return catalog(url), ledger(url), counts


def _assert_clean(html: Path) -> None:
    body = html.read_text()
    assert STDERR_OUTPUT not in body and "Traceback" not in body and "postgresql://" not in body


def test_report_on_feb2026_writes_three_and_names_the_two_that_stop(feb2026_url, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(config, "reports_dir", lambda: tmp_path)
    monkeypatch.setenv(config.DATABASE_URL_ENV, _with_password(feb2026_url))
    (tmp_path / "02_moderation_latency.html").write_text("a stale report of another database")
    before = _state(feb2026_url)
    assert cli.main(["report"]) == 0
    out = capsys.readouterr()
    assert sorted(p.name for p in tmp_path.glob("*.html")) == [
        "00_schema_tour.html",
        "01_branching_depth.html",
        "03_session_churn.html",
    ]
    stopped = [line for line in out.out.splitlines() if "stopped" in line]
    # 04's fidelity table compares review latency: it stops by design, though calibrate reads Feb 2026
    assert [line.split(" ", 1)[0] for line in stopped] == ["02_moderation_latency", "04_twin_fidelity"]
    for line in stopped:
        assert " stopped at its first cell: The database at " in line
        assert "has no table 'knowledge_submissions', which this notebook needs" in line
    assert PASSWORD not in out.out + out.err and "Traceback" not in out.out + out.err
    for html in tmp_path.glob("*.html"):
        _assert_clean(html)
    assert "Branching is not recorded in the Feb-2026 generation" in (tmp_path / "01_branching_depth.html").read_text()
    assert _state(feb2026_url) == before


def _databases(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute("SELECT datname FROM pg_database").fetchall()}


def test_report_on_mar2026_writes_all_five_and_its_twin_only_to_the_local_server(mar2026_url, tmp_path) -> None:
    from opentier_explore import server

    before = _state(mar2026_url)
    done = report.report(url=mar2026_url, out_dir=tmp_path)
    assert [p.name for p in done.written] == [
        "00_schema_tour.html",
        "01_branching_depth.html",
        "02_moderation_latency.html",
        "03_session_churn.html",
        "04_twin_fidelity.html",
    ]
    assert done.stopped == []
    for html in done.written:
        _assert_clean(html)
    assert _state(mar2026_url) == before
    assert "opentier_twin_04" not in _databases(mar2026_url)
    assert "opentier_twin_04" in _databases(server.url(config.pgdata(), "postgres"))


def _notebook(path: Path, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_report_exits_non_zero_on_any_other_error(feb2026_url, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(config, "reports_dir", lambda: tmp_path / "out")
    first = "from opentier_explore import connect, require_data\nengine = connect()\nrequire_data(engine)"
    broken = _notebook(tmp_path / "90_broken.ipynb", first, "raise ValueError('not by design')")
    late = _notebook(tmp_path / "91_late.ipynb", first, "require_data(engine, 'knowledge_submissions')")
    for path, says in ((broken, "failed with ValueError: not by design"), (late, "stopped: The database at")):
        assert cli.main(["report", str(path), "--database-url", feb2026_url]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and says in err and "Traceback" not in err


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_lab_opens_on_feb2026_without_writing_to_it(feb2026_url, tmp_path) -> None:
    before = _state(feb2026_url)
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), JUPYTER_CONFIG_DIR=str(tmp_path / "config"))
    env.pop(config.DATABASE_URL_ENV, None)
    cmd = [
        sys.executable,
        "-m",
        "opentier_explore",
        "lab",
        "--database-url",
        _with_password(feb2026_url),
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    proc = subprocess.Popen(cmd, env=env, cwd=config.PROJECT_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, f"lab exited: {proc.stderr.read().decode()[-500:]}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=5) as resp:
                    assert "started" in json.loads(resp.read())
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert time.monotonic() < deadline, "lab did not answer within 90 s"
                time.sleep(0.5)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    # Stopping `opentier-explore lab` stops JupyterLab itself: nothing answers on its port any more.
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=5)
    assert _state(feb2026_url) == before
