"""Reports: notebooks executed into HTML with their figures; a notebook on an unready database stops with one sentence."""

from __future__ import annotations

import subprocess
import sys

import pytest

from opentier_explore import execute, report
from opentier_explore.errors import ReportError


def test_report_writes_html_with_figures(tiny_url: str, tmp_path) -> None:
    [html] = report.report(["02_moderation_latency"], url=tiny_url, out_dir=tmp_path).written
    body = html.read_text()
    assert html == tmp_path / "02_moderation_latency.html"
    assert "How long do knowledge submissions wait for review?" in body
    assert body.count("data:image/png;base64,") >= 2
    assert "Traceback" not in body and "postgresql://" not in body


@pytest.mark.parametrize(
    ("fixture", "says"),
    [("fresh_url", "run `opentier-explore migrate`"), ("migrated_url", "run `opentier-explore seed --profile demo`")],
)
def test_notebook_stops_at_its_first_cell_with_one_sentence(fixture: str, says: str, request) -> None:
    url = request.getfixturevalue(fixture)
    path = execute.notebooks(["01_branching_depth"])[0]
    with execute.database_env(url), pytest.raises(ReportError) as err:
        execute.run(path)
    message = str(err.value)
    assert says in message and "\n" not in message
    assert message.startswith("Notebook 01_branching_depth.ipynb stopped: ")


def test_report_of_an_unknown_notebook_is_one_sentence() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "opentier_explore", "report", "99_nope"], capture_output=True, text=True
    )
    assert out.returncode != 0
    assert out.stderr.count("\n") == 1 and "No notebook named '99_nope'" in out.stderr and "Traceback" not in out.stderr
