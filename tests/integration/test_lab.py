"""JupyterLab starts headless on the kit's notebooks and lists them over its REST API."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request

from opentier_explore import config
from opentier_explore.lab import lab_command

NOTEBOOKS = {
    "00_schema_tour.ipynb",
    "01_branching_depth.ipynb",
    "02_moderation_latency.ipynb",
    "03_session_churn.ipynb",
    "04_twin_fidelity.ipynb",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def test_notebooks_folder_holds_only_notebooks() -> None:
    # The analyst's file browser opens on notebooks/: test plumbing (conftest.py) lives elsewhere.
    entries = {p.name for p in config.notebooks_dir().iterdir() if p.name not in (".ipynb_checkpoints", "__pycache__")}
    assert entries == NOTEBOOKS


def test_lab_serves_the_five_notebooks(tmp_path) -> None:
    port, token = _free_port(), secrets.token_hex(16)
    args = [
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), JUPYTER_CONFIG_DIR=str(tmp_path / "config"))
    proc = subprocess.Popen(lab_command(args), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, "jupyter lab exited before answering"
            try:
                status = _get(f"{base}/api/status?token={token}")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert time.monotonic() < deadline, "jupyter lab did not answer within 90 s"
                time.sleep(0.5)
        assert "started" in status
        listing = _get(f"{base}/api/contents/{config.notebooks_dir().name}?token={token}")
        names = {item["name"] for item in listing["content"] if item["type"] == "notebook"}
        assert NOTEBOOKS <= names
        # The kit's overrides reach the front end: it never asks about Jupyter news nor fetches it.
        settings = _get(f"{base}/lab/api/settings/@jupyterlab/apputils-extension:notification?token={token}")
        defaults = {name: prop.get("default") for name, prop in settings["schema"]["properties"].items()}
        assert defaults["fetchNews"] == "false" and defaults["checkForUpdates"] is False
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode is not None
