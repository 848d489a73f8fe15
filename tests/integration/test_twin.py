"""`twin.make_twin`: the twin goes to the kit's own local server, never the source's; a twin already holding
exactly the profile and seed asked for is reused, anything else is rebuilt; only a kit-seeded database is dropped."""

from __future__ import annotations

import psycopg
import pytest

from opentier_explore import config, server, twin
from opentier_explore.errors import ConfigError, SeedError

pytestmark = pytest.mark.integration


def _one(url: str, sql: str, params=()):
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchone()[0]


def _oid(url: str, name: str):
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT oid FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return row[0] if row else None


@pytest.fixture
def made(tiny_url):
    """A twin of the tiny source (profile tiny, seed 5) on the local server; dropped afterwards."""
    url = twin.make_twin(tiny_url, "tiny", seed=5, name="t_twin_cache")
    yield url
    twin.drop_twin(url)


def test_the_twin_is_on_the_local_server_and_the_source_server_gets_nothing(tiny_url, made):
    local = server.url(config.pgdata(), "postgres")
    assert local is not None and server.url(config.pgdata(), "t_twin_cache") == made
    assert _oid(local, "t_twin_cache") is not None
    base, query = tiny_url.split("?", 1)
    source_admin = base.rsplit("/", 1)[0] + "/postgres?" + query
    assert _oid(source_admin, "t_twin_cache") is None
    assert _one(made, "SELECT count(*) FROM users") == 200
    assert _one(made, "SELECT seed FROM _opentier_seed") == 5


def test_the_same_profile_and_seed_reuse_the_twin_and_anything_else_rebuilds_it(tiny_url, made):
    local = server.url(config.pgdata(), "postgres")
    first = _oid(local, "t_twin_cache")
    assert twin.make_twin(tiny_url, "tiny", seed=5, name="t_twin_cache") == made
    assert _oid(local, "t_twin_cache") == first  # reused: not dropped and created again
    twin.make_twin(tiny_url, "tiny", seed=6, name="t_twin_cache")
    second = _oid(local, "t_twin_cache")
    assert second != first and _one(made, "SELECT seed FROM _opentier_seed") == 6
    with psycopg.connect(made, autocommit=True) as conn:  # a changed twin is not what the record says: rebuilt
        conn.execute("DELETE FROM user_memories")
    twin.make_twin(tiny_url, "tiny", seed=6, name="t_twin_cache")
    assert _oid(local, "t_twin_cache") != second and _one(made, "SELECT count(*) FROM user_memories") > 0


def test_a_profile_file_reuses_the_twin_wherever_the_file_lies(tiny_url, tmp_path):
    from seed import profile

    text = profile.resolve("tiny").read_text()
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text(text)
    b.write_text(text)
    url = twin.make_twin(tiny_url, a, seed=5, name="t_twin_file")
    try:
        local = server.url(config.pgdata(), "postgres")
        first = _oid(local, "t_twin_file")
        assert twin.make_twin(tiny_url, b, seed=5, name="t_twin_file") == url
        assert _oid(local, "t_twin_file") == first
        b.write_text(text.replace('name = "tiny"', 'name = "tiny_b"'))
        twin.make_twin(tiny_url, b, seed=5, name="t_twin_file")
        assert _oid(local, "t_twin_file") != first
    finally:
        twin.drop_twin(url)


def test_a_twin_named_like_a_local_source_is_refused(tiny_url):
    local_source = server.start()  # the local server's own database `opentier`
    with pytest.raises(ConfigError, match="would replace its source"):
        twin.make_twin(local_source, "tiny", name=config.EMBEDDED_DATABASE)
    with pytest.raises(ConfigError, match="lower-case letters"):
        twin.make_twin(tiny_url, "tiny", name="Bad-Name")


def test_drop_twin_refuses_a_database_the_kit_did_not_seed():
    server.start()
    with psycopg.connect(server.url(database="postgres"), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS t_not_a_twin")
        conn.execute("CREATE DATABASE t_not_a_twin")
    url = server.url(database="t_not_a_twin")
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE keep (id int)")
        with pytest.raises(SeedError, match="not a twin"):
            twin.drop_twin(url)
        with pytest.raises(SeedError, match="not a twin"):
            twin.make_twin(url.replace("t_not_a_twin", "postgres"), "tiny", name="t_not_a_twin")
        assert _one(url, "SELECT count(*) FROM keep") == 0
    finally:
        with psycopg.connect(server.url(config.pgdata(), "postgres"), autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS t_not_a_twin WITH (FORCE)")
