"""Executing notebooks: which to run, DATABASE_URL for their kernels, and one notebook top to bottom in a fresh kernel."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from . import config
from .errors import ConfigError, ReportError


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


def run(path: Path):
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
            timeout=config.CELL_TIMEOUT,
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
