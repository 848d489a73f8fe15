"""Seeding refuses what it must (one sentence, non-zero exit, nothing changed), and a killed seed leaves nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from _catalog import catalog

from opentier_explore import config, migrate
from opentier_explore.seeding import interrupt
from seed.generate import TABLES

PROFILES = Path(__file__).resolve().parents[2] / "seed" / "profiles"


def seed_cli(url: str, *args: str, module: str = "opentier_explore") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != config.DATABASE_URL_ENV}
    extra = ["seed"] if module == "opentier_explore" else []
    return subprocess.run(
        [sys.executable, "-m", module, *extra, "--database-url", url, *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=config.PROJECT_DIR,
    )


def one_sentence(result: subprocess.CompletedProcess, *fragments: str) -> str:
    assert result.returncode != 0, result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    line = lines[0]
    assert line.startswith("opentier-explore: ") and line.endswith("."), line
    for f in fragments:
        assert f in line, line
    return line


def state(url: str) -> dict:
    """Every public table's row count and whether the kit's ledger exists."""
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace ORDER BY 1"
            )
        ]
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def test_unmigrated_database_is_refused_and_left_alone(fresh_url):
    before = state(fresh_url)
    one_sentence(seed_cli(fresh_url, "--profile", "tiny"), "opentier-explore migrate")
    assert state(fresh_url) == before == {}


@pytest.fixture()
def foreign_url(pg):
    """A migrated database holding one user the kit did not write."""
    url = pg.create_db("seed_foreign")
    migrate.up(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO users (email) VALUES ('someone@example.com')")
    yield url
    pg.drop_db("seed_foreign")


def test_foreign_rows_are_refused(foreign_url):
    before = state(foreign_url)
    one_sentence(seed_cli(foreign_url, "--profile", "tiny"), "did not seed", "1 row in users")
    assert state(foreign_url) == before


def test_truncate_refuses_a_database_the_kit_did_not_seed(foreign_url):
    before = state(foreign_url)
    one_sentence(seed_cli(foreign_url, "--profile", "tiny", "--truncate"), "--truncate", "did not seed")
    assert state(foreign_url) == before
    assert "_opentier_seed" not in before


def test_bad_profile_values_are_refused_naming_the_key(migrated_url, tmp_path):
    before = state(migrated_url)
    text = (PROFILES / "tiny.toml").read_text()
    cases = {
        "count = 200": ("count = -5", "'users.count'"),
        "orphan_share = 0.03": ("orphan_share = 1.5", "'conversations.orphan_share'"),
        "growth = 4.0": ('growth = "fast"', "'users.growth'"),
        "ttl_days = 7": ("ttl_dayz = 7", "'sessions.ttl_dayz'"),
    }
    for old, (new, key) in cases.items():
        assert old in text
        path = tmp_path / "bad.toml"
        path.write_text(text.replace(old, new, 1))
        one_sentence(seed_cli(migrated_url, "--profile", str(path)), key)
    one_sentence(seed_cli(migrated_url, "--profile", "gigantic"), "Unknown profile", "huge")
    one_sentence(seed_cli(migrated_url, "--profile", str(tmp_path / "missing.toml")), "does not exist")
    assert state(migrated_url) == before


def test_a_users_copy_of_a_profile_seeds(pg, tmp_path):
    url = pg.create_db("seed_custom")
    try:
        migrate.up(url)
        path = tmp_path / "mine.toml"
        path.write_text((PROFILES / "tiny.toml").read_text().replace("count = 200", "count = 120", 1))
        result = seed_cli(url, "--profile", str(path), "--seed", "3", module="opentier_explore")
        assert result.returncode == 0, result.stderr
        assert "users" in result.stdout and "120" in result.stdout
        assert state(url)["users"] == 120
    finally:
        pg.drop_db("seed_custom")


def test_reseeding_needs_truncate_and_truncate_replaces(tiny_url):
    before = state(tiny_url)
    one_sentence(seed_cli(tiny_url, "--profile", "tiny"), "--truncate", "profile tiny, seed 42")
    assert state(tiny_url) == before
    result = seed_cli(tiny_url, "--profile", "tiny", "--seed", "7", "--truncate")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no progress bars when not on a terminal
    after = state(tiny_url)
    assert after["_opentier_seed"] == 1 and after["users"] == 200
    with psycopg.connect(tiny_url, autocommit=True) as conn:
        assert conn.execute("SELECT seed FROM _opentier_seed").fetchone()[0] == 7
        # Then the application writes a row: --truncate no longer empties the database.
        conn.execute("INSERT INTO users (email) VALUES ('real.person@example.com')")
    changed = state(tiny_url)
    one_sentence(seed_cli(tiny_url, "--profile", "tiny", "--truncate"), "users table changed")
    assert state(tiny_url) == changed


def _wait_for(url: str, proc: subprocess.Popen, pattern: str, timeout: float = 60) -> None:
    dbname = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"the seed ended before it was interrupted: {proc.stderr.read()}")
            row = conn.execute(
                """SELECT query FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()
                                   AND state = 'active' AND query LIKE %s""",
                (dbname, pattern),
            ).fetchone()
            if row:
                return
            time.sleep(0.01)
    pytest.fail(f"never saw the seed run {pattern}")


@contextmanager
def _demo_seed_running(pg, name: str, pattern: str):
    """(url, process, state and catalog before) of a `demo` seed by the CLI on a fresh migrated database `name`,
    once the server runs `pattern`; at exit the process is killed if it still runs and the database dropped."""
    url = pg.create_db(name)
    try:
        migrate.up(url)
        before, schema = state(url), catalog(url)
        proc = _seed_demo(url)
        try:
            _wait_for(url, proc, pattern)
            yield url, proc, before, schema
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    finally:
        pg.drop_db(name)


@pytest.mark.parametrize(
    "sig,pattern",
    [
        (signal.SIGKILL, 'COPY "chat_messages"%'),
        (signal.SIGINT, 'COPY "chat_messages"%'),
        (signal.SIGINT, "CREATE INDEX idx_document_chunks_embedding%"),
    ],
    ids=["kill-during-copy", "ctrl-c-during-copy", "ctrl-c-during-index-build"],
)
def test_an_interrupted_seed_leaves_every_table_empty(pg, sig, pattern):
    with _demo_seed_running(pg, "seed_killed", pattern) as (url, proc, before, schema):
        children = _children(proc.pid)  # the generator process
        assert children
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
        assert _gone(children), "the generator process outlived the interrupted seed"
        assert proc.returncode != 0
        if sig == signal.SIGINT:
            assert "Traceback" not in err and len(err.splitlines()) == 1, err
        # The server notices the dead client and rolls back; wait for the backend to go.
        dbname = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
        with psycopg.connect(url, autocommit=True) as conn:
            for _ in range(500):
                if not conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (dbname,)
                ).fetchone()[0]:
                    break
                time.sleep(0.02)
        after = state(url)
        assert after == before
        assert all(after[t] == 0 for t in TABLES) and "_opentier_seed" not in after
        assert catalog(url) == schema  # keys and indexes dropped inside the transaction are back


def test_ctrl_c_during_a_statement_cancels_it_on_the_server_and_becomes_keyboard_interrupt(fresh_url):
    before = signal.getsignal(signal.SIGINT)
    with psycopg.connect(fresh_url) as conn:
        timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
        start = time.monotonic()
        with pytest.raises(KeyboardInterrupt), interrupt.deferred(conn):
            timer.start()
            conn.execute("SELECT pg_sleep(60)")
        assert time.monotonic() - start < 60  # the server stopped the sleep: it did not run out
        timer.join()
    assert signal.getsignal(signal.SIGINT) is before


def test_ctrl_c_between_statements_waits_for_the_next_check(fresh_url):
    """The handler never raises where it lands (here inside a lock): the code runs on to the next safe point."""
    lock, reached = threading.Lock(), []
    with psycopg.connect(fresh_url) as conn, pytest.raises(KeyboardInterrupt), interrupt.deferred(conn) as stop:
        with lock:
            os.kill(os.getpid(), signal.SIGINT)
            reached.append("inside the lock")
        stop.check()
        reached.append("after the check")
    assert reached == ["inside the lock"] and not lock.locked()


def test_a_failing_seed_is_one_sentence_and_rolls_everything_back(pg):
    """A constraint the kit's data breaks (added by someone): the seed fails mid-way; keys and indexes are intact."""
    url = pg.create_db("seed_failing")
    try:
        migrate.up(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ALTER TABLE chat_messages ADD CONSTRAINT no_long_talk CHECK (length(content) < 120)")
        before, schema = state(url), catalog(url)
        line = one_sentence(seed_cli(url, "--profile", "tiny"), "failed and was rolled back", "no_long_talk")
        assert "chat_messages" in line
        assert state(url) == before and catalog(url) == schema
    finally:
        pg.drop_db("seed_failing")


def test_a_seeded_database_emptied_by_hand_seeds_again(pg, tiny_template):
    url = pg.create_db("seed_emptied", template=tiny_template)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("TRUNCATE " + ", ".join(TABLES))
        result = seed_cli(url, "--profile", "tiny", "--seed", "5")
        assert result.returncode == 0, result.stderr
        with psycopg.connect(url, autocommit=True) as conn:
            assert conn.execute("SELECT seed FROM _opentier_seed").fetchall() == [(5,)]
    finally:
        pg.drop_db("seed_emptied")


def test_running_out_of_memory_is_one_sentence_and_rolls_everything_back(pg, tmp_path):
    """A profile too large for the memory the seed may use (an address-space limit, inherited by the generator
    process): numpy's MemoryError in the generator, after the first tables were loaded, becomes one sentence."""
    import resource

    url = pg.create_db("seed_oom")
    try:
        migrate.up(url)
        before, schema = state(url), catalog(url)
        path = tmp_path / "too_big.toml"
        path.write_text((PROFILES / "tiny.toml").read_text().replace("count = 700", "count = 1000000000", 1))
        limit = 3 << 30

        def limited() -> None:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

        env = {k: v for k, v in os.environ.items() if k != config.DATABASE_URL_ENV}
        result = subprocess.run(
            [sys.executable, "-m", "opentier_explore", "seed", "--database-url", url, "--profile", str(path)],
            capture_output=True,
            text=True,
            timeout=180,
            env=env,
            cwd=config.PROJECT_DIR,
            preexec_fn=limited,
        )
        one_sentence(result, "too large for this machine's memory, nothing was changed")
        assert state(url) == before and catalog(url) == schema
    finally:
        pg.drop_db("seed_oom")


def _children(pid: int) -> set[int]:
    """The live child processes of `pid` (Linux /proc)."""
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        out |= {int(c) for c in (task / "children").read_text().split()}
    return out


def _gone(pids: set[int], timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = {p for p in pids if Path(f"/proc/{p}").exists() and "(Z" not in _stat(p)}
        if not alive:
            return True
        time.sleep(0.05)
    return False


def _seed_demo(url: str) -> subprocess.Popen:
    """`opentier-explore seed --profile demo` into `url` as a process of its own (no DATABASE_URL inherited)."""
    env = {k: v for k, v in os.environ.items() if k != config.DATABASE_URL_ENV}
    return subprocess.Popen(
        [sys.executable, "-m", "opentier_explore", "seed", "--database-url", url, "--profile", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=config.PROJECT_DIR,
    )


def _stat(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")", 1)[1][:3]
    except OSError:
        return " (Z"  # gone meanwhile


def test_a_generator_process_that_dies_is_one_sentence_and_rolls_everything_back(pg):
    """The generator runs in a process of its own; killed mid-COPY (as the kernel's OOM killer would), the seed
    says so in one sentence and leaves every table as it was."""
    with _demo_seed_running(pg, "seed_child_killed", 'COPY "conversations"%') as (url, proc, before, schema):
        children = _children(proc.pid)
        assert len(children) == 1, children
        os.kill(children.pop(), signal.SIGKILL)
        result = subprocess.CompletedProcess(proc.args, proc.wait(timeout=120), *proc.communicate(timeout=60))
        one_sentence(result, "stopped unexpectedly", "killed by signal 9", "rolled back, nothing changed")
        assert state(url) == before and catalog(url) == schema
