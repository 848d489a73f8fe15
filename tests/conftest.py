"""Shared fixtures: one embedded PostgreSQL server per test session, a fresh database per module."""

from __future__ import annotations

import itertools
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# Tests never touch a server named by the user's environment, nor the kit's own local data.
os.environ.pop("DATABASE_URL", None)


@dataclass
class PgServer:
    """The session's throw-away embedded server."""

    pgdata: Path
    home: Path

    def url(self, dbname: str) -> str:
        from opentier_explore import server

        return server.url(self.pgdata, dbname)

    def admin(self):
        import psycopg

        return psycopg.connect(self.url("postgres"), autocommit=True)

    def create_db(self, name: str, template: str | None = None) -> str:
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            tmpl = f' TEMPLATE "{template}"' if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{tmpl}')
        return self.url(name)

    def drop_db(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_INTEGRATION = Path(__file__).resolve().parent / "integration"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/integration needs the embedded server: marked `integration` here, in one place."""
    for item in items:
        if _INTEGRATION in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.integration)


_counter = itertools.count()


def _db_name(request: pytest.FixtureRequest, prefix: str) -> str:
    stem = re.sub(r"[^a-z0-9]+", "_", request.module.__name__.rsplit(".", 1)[-1].lower())
    return f"{prefix}_{stem}_{next(_counter)}"[:60]


@pytest.fixture(scope="session")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgServer]:
    """The embedded PostgreSQL server, started once for the session and deleted after it."""
    from opentier_explore import server

    home = tmp_path_factory.mktemp("oth")
    pgdata = home / "pgdata"
    server.start(pgdata)
    yield PgServer(pgdata=pgdata, home=home)
    server.stop(pgdata)
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def fresh_url(pg: PgServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A new empty database for this test module; its libpq URL."""
    name = _db_name(request, "t")
    url = pg.create_db(name)
    yield url
    pg.drop_db(name)


@pytest.fixture(scope="module")
def migrated_url(pg: PgServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A new database with every migration applied, for this test module."""
    from opentier_explore import migrate

    name = _db_name(request, "m")
    url = pg.create_db(name)
    migrate.up(url)
    yield url
    pg.drop_db(name)


@pytest.fixture(scope="session")
def tiny_template(pg: PgServer) -> str:
    """Name of a database migrated and seeded with profile `tiny`, seed 42 (never modify it: copy it)."""
    from opentier_explore import migrate, seeding

    url = pg.create_db("tpl_tiny_42")
    migrate.up(url)
    seeding.run(url, profile="tiny", seed=42, truncate=False, progress=False)
    return "tpl_tiny_42"


@pytest.fixture(scope="module")
def tiny_url(pg: PgServer, tiny_template: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A module's own copy of the seeded `tiny` database."""
    name = _db_name(request, "s")
    url = pg.create_db(name, template=tiny_template)
    yield url
    pg.drop_db(name)


@pytest.fixture(scope="session")
def replica(tmp_path_factory: pytest.TempPathFactory):
    """A private embedded primary and its streaming hot standby for the session (tests/replica.py)."""
    from replica import StreamingPair

    pair = StreamingPair.start(tmp_path_factory.mktemp("otr"))
    yield pair
    pair.stop()


@pytest.fixture(scope="session")
def generation_templates(pg: PgServer) -> dict[str, str]:
    """Names of databases built from the Feb-2026 and March-2026 fixtures (never modify them: copy them)."""
    from tests import fixtures

    names = {}
    for generation in fixtures.GENERATIONS:
        names[generation] = f"tpl_{generation}"
        fixtures.build(generation, pg.create_db(names[generation]))
    return names


@pytest.fixture(scope="module")
def feb2026_url(pg: PgServer, generation_templates: dict[str, str], request: pytest.FixtureRequest) -> Iterator[str]:
    """A module's own copy of the Feb-2026 fixture: the services' ledgers, no parent_id, no knowledge_submissions."""
    name = _db_name(request, "f")
    yield pg.create_db(name, template=generation_templates["feb2026"])
    pg.drop_db(name)


@pytest.fixture(scope="module")
def mar2026_url(pg: PgServer, generation_templates: dict[str, str], request: pytest.FixtureRequest) -> Iterator[str]:
    """A module's own copy of the March-2026 fixture: the kit's schema under other sqlx versions."""
    name = _db_name(request, "r")
    yield pg.create_db(name, template=generation_templates["mar2026"])
    pg.drop_db(name)
