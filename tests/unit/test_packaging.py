"""The pip and conda set-ups install the same things; the console script and module entry exist."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _norm(spec: str) -> str:
    name, rest = re.match(r"^([A-Za-z0-9_.\-]+(?:\[[^\]]*\])?)(.*)$", spec.strip()).groups()
    return re.sub(r"[-_.]+", "-", name.lower()) + rest.replace(" ", "")


def _pip_specs() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    return {_norm(s) for s in project["dependencies"] + extras["dev"] + extras["bench"]}


def _conda_pip_specs() -> set[str]:
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "- pip:")
    specs = set()
    for line in lines[start + 1 :]:
        m = re.match(r"^\s+- ([^#]+?)\s*(?:#.*)?$", line)
        if not m:
            break
        if not m.group(1).startswith("--"):
            specs.add(_norm(m.group(1)))
    return specs


def test_environment_yml_lists_the_pip_dependencies() -> None:
    assert _conda_pip_specs() == _pip_specs()


def test_every_runtime_dependency_is_pinned_exactly() -> None:
    assert all("==" in spec for spec in _pip_specs())


def test_module_entry_point_prints_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "opentier_explore", "--help"], capture_output=True, text=True, check=True
    )
    assert "migrate" in out.stdout and "seed" in out.stdout and "db" in out.stdout


def test_gitignore_keeps_local_state_out() -> None:
    ignored = set((ROOT / ".gitignore").read_text().split())
    assert {".venv/", ".opentier/", "reports/"} <= ignored


def test_make_help_lists_the_main_targets() -> None:
    out = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for target in ("install", "test", "lab", "demo", "help"):
        assert re.search(rf"make {target}\b", out), target
