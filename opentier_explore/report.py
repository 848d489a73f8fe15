"""HTML reports: the notebooks executed on a prepared database, one `reports/NAME.html` each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import config
from .execute import NotebookStopped, database_env, notebooks, run


@dataclass
class Reports:
    """What `report` did: the reports written, and the notebooks that stopped at their first cell (name, sentence)."""

    written: list[Path] = field(default_factory=list)
    stopped: list[tuple[str, str]] = field(default_factory=list)


def _write_html(path: Path, out_dir: Path) -> Path:
    """Execute the notebook and write it as `out_dir/NAME.html`; the path written."""
    from nbconvert import HTMLExporter

    nb = run(path)
    body, _ = HTMLExporter().from_notebook_node(nb)
    out = out_dir / f"{path.stem}.html"
    out.write_text(body, encoding="utf-8")
    return out


def report(names: Sequence[str] | None = None, *, url: str | None = None, out_dir: Path | None = None) -> Reports:
    """Prepare the database, execute notebooks and write one HTML report for each that runs.

    A notebook that stops by design at its first cell (the database lacks what it needs) writes no report
    (a stale one of that name is removed) and is listed in `stopped`; any other failure raises ReportError.
    """
    from .prepare import prepare

    paths = notebooks(names)
    libpq = prepare(url)
    out_dir = out_dir or config.reports_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    done = Reports()
    with database_env(libpq):
        for path in paths:
            print(f"running {path.name}…", flush=True)
            try:
                done.written.append(_write_html(path, out_dir))
            except NotebookStopped as stop:
                (out_dir / f"{path.stem}.html").unlink(missing_ok=True)
                done.stopped.append((stop.name, stop.sentence))
    return done
