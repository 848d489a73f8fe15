"""JupyterLab on the notebooks: the database prepared, its URL in the kernels' environment."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence

from . import config


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
    cmd = lab_command(extra_args)
    if os.name == "posix":
        # JupyterLab takes this process's place, so a signal that stops `opentier-explore lab` (SIGTERM from a
        # service manager or `kill`) stops the server and its kernels instead of leaving them running orphaned.
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(cmd[0], cmd, env)
    try:
        return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        return 0
