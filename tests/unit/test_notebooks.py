"""The committed notebooks have one shape and carry only stable, safe outputs (nbval compares them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opentier_explore.plots import _figure_text

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("[0-9]*.ipynb"))


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _text(output: dict) -> str:
    if "text" in output:
        return "".join(output["text"])
    data = output.get("data", {})
    return "".join("".join(v) if isinstance(v, list) else str(v) for k, v in data.items() if k.startswith("text/"))


def test_the_notebooks_exist() -> None:
    assert [p.stem for p in NOTEBOOKS] == [
        "00_schema_tour",
        "01_branching_depth",
        "02_moderation_latency",
        "03_session_churn",
        "04_twin_fidelity",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_shape(path: Path) -> None:
    cells = _cells(path)
    title, imports, last = cells[0], cells[1], cells[-1]
    assert title["cell_type"] == "markdown" and "".join(title["source"]).startswith("# ")
    assert "You will learn" in "".join(title["source"])
    src = "".join(imports["source"])
    assert imports["cell_type"] == "code" and "connect()" in src and "require_data(engine" in src
    assert last["cell_type"] == "markdown" and "Take-aways" in "".join(last["source"])
    code = [c for c in cells if c["cell_type"] == "code"]
    assert any("metrics." in "".join(c["source"]) or "tour." in "".join(c["source"]) for c in code)
    assert any(o.get("data", {}).get("image/png") for c in code for o in c["outputs"]), "at least one figure"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_outputs_are_stable_and_safe(path: Path) -> None:
    nb = json.loads(path.read_text())
    assert "version" not in nb["metadata"].get("language_info", {})
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        assert "execution" not in cell["metadata"]
        assert cell["outputs"] or cell is nb["cells"][1], f"cell without stored outputs: {''.join(cell['source'])[:60]}"
        for out in cell["outputs"]:
            assert out["output_type"] != "error"
            assert not (out["output_type"] == "stream" and out["name"] == "stderr"), "stderr in a stored output"
            text = _text(out)
            for volatile in ("<Figure size", "/tmp/", "postgresql://", "password=", "$2b$", "Warning"):
                assert volatile not in text, f"{volatile!r} in an output of {path.name}"


def test_figure_text_is_its_titles() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    class Printer:
        def __init__(self) -> None:
            self.out = ""

        def text(self, s: str) -> None:
            self.out += s

    fig, (a, b) = plt.subplots(1, 2)
    a.set_title("Left")
    b.set_title("Right")
    p = Printer()
    _figure_text(fig, p, False)
    assert p.out == "[figure: Left | Right]"
    plt.close(fig)
