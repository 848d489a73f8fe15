"""Executing the notebooks into HTML reports, and starting JupyterLab on them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import config
from .errors import ConfigError, ReportError

#: Seconds one notebook cell may run before the report gives up.
CELL_TIMEOUT = 600


def notebooks(names: Sequence[str] | None = None) -> list[Path]:
    """The notebooks to run: `names` (paths or stems in notebooks/), else every notebook there, sorted."""
    folder = config.notebooks_dir()
    if not names:
        return sorted(folder.glob("[0-9]*.ipynb"))
    found = []
    for name in names:
        candidates = [Path(name), folder / name, folder / f"{name}.ipynb"]
        path = next((p for p in candidates if p.is_file() and p.suffix == ".ipynb"), None)
        if path is None:
            known = ", ".join(p.stem for p in sorted(folder.glob("*.ipynb")))
            raise ConfigError(f"No notebook named {name!r}: choose one of {known}.")
        found.append(path.resolve())
    return found


@contextmanager
def database_env(url: str) -> Iterator[None]:
    """DATABASE_URL set to `url` for the duration (kernels started meanwhile inherit it), then restored."""
    old = os.environ.get(config.DATABASE_URL_ENV)
    os.environ[config.DATABASE_URL_ENV] = url
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(config.DATABASE_URL_ENV, None)
        else:
            os.environ[config.DATABASE_URL_ENV] = old


def _run(path: Path):
    """The notebook at `path`, executed top to bottom in a fresh kernel (timing metadata not recorded)."""
    import tempfile

    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="otk-") as sockets:
        # IPC sockets in a private directory: no TCP port, and no warning about unencrypted TCP.
        km = KernelManager(kernel_name="python3", transport="ipc", ip=str(Path(sockets) / "kernel"))
        client = NotebookClient(
            nb,
            km=km,
            timeout=CELL_TIMEOUT,
            kernel_name="python3",
            record_timing=False,
            resources={"metadata": {"path": str(path.parent)}},
        )
        try:
            _execute_client(client, path)
        finally:
            if km.has_kernel:  # a kernel manager we made is ours to stop
                km.shutdown_kernel(now=True)
    return nb


class NotebookStopped(ReportError):
    """A notebook stopped by design at its first code cell: the database lacks what it needs."""

    def __init__(self, path: Path, sentence: str) -> None:
        super().__init__(f"Notebook {path.name} stopped: {sentence}")
        self.name, self.sentence = path.stem, sentence


@dataclass
class Reports:
    """What `report` did: the reports written, and the notebooks that stopped at their first cell (name, sentence)."""

    written: list[Path] = field(default_factory=list)
    stopped: list[tuple[str, str]] = field(default_factory=list)


def _failed_at_first_code_cell(nb) -> bool:
    code = [c for c in nb.cells if c.cell_type == "code"]
    return bool(code) and any(o.get("output_type") == "error" for o in code[0].get("outputs", []))


def _execute_client(client, path: Path) -> None:
    from nbclient.exceptions import CellExecutionError

    from . import errors

    try:
        client.execute()
    except CellExecutionError as exc:
        kit_error = getattr(errors, exc.ename, None)
        if isinstance(kit_error, type) and issubclass(kit_error, errors.OpentierError):
            if _failed_at_first_code_cell(client.nb):
                raise NotebookStopped(path, exc.evalue) from None
            raise ReportError(f"Notebook {path.name} stopped: {exc.evalue}") from None
        raise ReportError(
            f"Notebook {path.name} failed with {exc.ename}: {exc.evalue} — open it with `make lab` to see where."
        ) from None


def _execute(path: Path, out_dir: Path) -> Path:
    from nbconvert import HTMLExporter

    nb = _run(path)
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
                done.written.append(_execute(path, out_dir))
            except NotebookStopped as stop:
                (out_dir / f"{path.stem}.html").unlink(missing_ok=True)
                done.stopped.append((stop.name, stop.sentence))
    return done


def strip_volatile(nb) -> None:
    """Drop metadata that changes from run to run or machine to machine; outputs stay."""
    nb.metadata.pop("widgets", None)
    nb.metadata.get("language_info", {}).pop("version", None)
    for cell in nb.cells:
        for key in ("execution", "collapsed", "scrolled"):
            cell.metadata.pop(key, None)


def refresh(names: Sequence[str] | None = None) -> list[Path]:
    """Re-execute notebooks in place against a throw-away demo database (seed 42), as nbval will check them."""
    import nbformat

    from .prepare import throwaway

    paths = notebooks(names)
    with throwaway() as url, database_env(url):
        for path in paths:
            print(f"refreshing {path.name}…", flush=True)
            nb = _run(path)
            strip_volatile(nb)
            nbformat.write(nb, path)
    return paths


def lab_command(extra_args: Sequence[str] = ()) -> list[str]:
    """The JupyterLab command line: the project as its root, opening on notebooks/, with the kit's settings."""
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={config.PROJECT_DIR}",
        f"--LabApp.default_url=/lab/tree/{config.notebooks_dir().name}",
        # The kit's settings overrides, read from the project rather than the user's home.
        f"--LabApp.app_settings_dir={config.lab_settings_dir()}",
    ]
    if os.name == "posix" and os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd + list(extra_args)


def lab(*, url: str | None = None, extra_args: Sequence[str] = ()) -> int:
    """Prepare the database and run JupyterLab on notebooks/ with DATABASE_URL in the kernels' environment."""
    from .prepare import prepare

    libpq = prepare(url)
    env = dict(os.environ, **{config.DATABASE_URL_ENV: libpq})
    try:
        return subprocess.call(lab_command(extra_args), env=env)
    except KeyboardInterrupt:
        return 0
