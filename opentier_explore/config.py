"""The one place for the kit's settings: paths, environment variables, and the numbers the kit runs by."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent

#: Environment variable naming any PostgreSQL server (the OpenTier services use it too).
DATABASE_URL_ENV = "DATABASE_URL"
#: Environment variable moving the kit's local state (embedded server data).
HOME_ENV = "OPENTIER_HOME"
#: Environment variable (1/true/yes) making the notebooks compute every metric inside PostgreSQL and load no
#: per-message frame into pandas: for a database too big for the kernel's memory (the `huge` profile).
ENGINE_ONLY_ENV = "OPENTIER_ENGINE_ONLY"

#: Database the embedded server serves the kit's data from.
EMBEDDED_DATABASE = "opentier"
#: Superuser of the embedded server (trust auth on a Unix socket only).
EMBEDDED_USER = "postgres"

#: Application name reported to PostgreSQL by every kit connection.
APPLICATION_NAME = "opentier-explore"
#: Seconds a kit connection waits for the server to answer before giving up.
CONNECT_TIMEOUT = 10

#: What `make lab` / `make demo` seed into an empty local database, and what `make notebooks` records.
DEMO_PROFILE = "demo"
DEMO_SEED = 42

#: Seconds one notebook cell may run before `report` (or `refresh`) gives up.
CELL_TIMEOUT = 600

#: Arrow batch size the bulk loader asks the driver for: converting one batch overlaps the transfer of the next.
LOAD_BATCH_BYTES = 16 << 20


def home() -> Path:
    """Directory of the kit's local state (`.opentier/` in the project, or `$OPENTIER_HOME`)."""
    value = os.environ.get(HOME_ENV)
    return Path(value).expanduser().resolve() if value else PROJECT_DIR / ".opentier"


def pgdata() -> Path:
    """Data directory of the embedded PostgreSQL server."""
    return home() / "pgdata"


def migrations_dir() -> Path:
    """The sqlx-format migrations folder."""
    return PROJECT_DIR / "migrations"


def notebooks_dir() -> Path:
    """The analyses."""
    return PROJECT_DIR / "notebooks"


def lab_settings_dir() -> Path:
    """JupyterLab settings the kit's `lab` ships (overrides.json: no news pop-up on first start)."""
    return PACKAGE_DIR / "lab_settings"


def reports_dir() -> Path:
    """Where `report` writes the executed notebooks as HTML."""
    return PROJECT_DIR / "reports"


def engine_only() -> bool:
    """True when `$OPENTIER_ENGINE_ONLY` is 1, true or yes (any case): metrics on the Engine path only."""
    return os.environ.get(ENGINE_ONLY_ENV, "").strip().lower() in ("1", "true", "yes")


def database_url_from_env() -> str | None:
    """`$DATABASE_URL` if set and not blank."""
    value = os.environ.get(DATABASE_URL_ENV, "").strip()
    return value or None


#: work_mem for the recursive tree walks (the tree metrics, calibration): each level hashes the edges once.
TREE_WORK_MEM = "256MB"
#: The walks' hash of the edges must fit in memory (work_mem × hash_mem_multiplier): spilled to batches, it is
#: rebuilt for every level of the walk. Bytes per message that the hash takes (measured ~91), with a margin ...
TREE_HASH_BYTES_PER_EDGE = 125
#: ... and the most memory a walk's hash may take (hash_mem_multiplier is raised up to it, never lowered).
TREE_HASH_MEM_MAX_MB = 4096
#: conversation_trees, message_depths and calibration walk this many parts of the conversations at once, on as many
#: connections (one snapshot)
TREE_WALK_PARTS = 2
