"""Calibration's privacy and robustness: no source string or UUID leaves, counts below K are held back, --epsilon
adds noise and says so, a Feb-2026-generation database calibrates, bad input is one sentence."""

from __future__ import annotations

import re
import tomllib

import psycopg
import pytest
from twin_sources import profile_path, to_feb2026

from opentier_explore import calibrate, migrate, twin
from seed import profile

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture(scope="module")
def boom_url(pg):
    from opentier_explore import seeding

    url = pg.create_db("priv_boom")
    migrate.up(url)
    seeding.run(url, profile=profile_path("boom"), seed=42, truncate=False, progress=False)
    yield url
    pg.drop_db("priv_boom")


def _strings(url: str) -> set[str]:
    """Identifiers and text of the source that must never appear in a profile."""
    sql = """SELECT id::text FROM users UNION SELECT email FROM users UNION SELECT name FROM users WHERE name IS NOT NULL
             UNION SELECT username FROM users WHERE username IS NOT NULL UNION SELECT session_token FROM sessions
             UNION SELECT host(ip_address) FROM sessions WHERE ip_address IS NOT NULL UNION SELECT id::text FROM conversations
             UNION SELECT title FROM conversations WHERE title IS NOT NULL UNION SELECT id::text FROM chat_messages
             UNION SELECT left(content, 40) FROM chat_messages UNION SELECT title FROM knowledge_submissions
             UNION SELECT token FROM verification_tokens UNION SELECT access_token FROM accounts"""
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute(sql).fetchall() if r[0] and len(r[0]) >= 6}


def test_no_source_string_or_uuid_in_the_profile_or_the_twin(boom_url, tmp_path):
    text = calibrate.calibrate(boom_url)
    assert not _UUID.search(text)
    leaked = [s for s in _strings(boom_url) if s in text]
    assert leaked == []
    path = calibrate.write_profile(tmp_path / "boom.toml", text)
    twin_url = twin.make_twin(boom_url, path, seed=7, name="priv_twin")
    try:
        ids = "SELECT id::text FROM users UNION ALL SELECT id::text FROM chat_messages UNION ALL SELECT session_token FROM sessions"
        with psycopg.connect(boom_url) as a, psycopg.connect(twin_url) as b:
            source = {r[0] for r in a.execute(ids).fetchall()}
            copied = [r[0] for r in b.execute(ids).fetchall() if r[0] in source]
        assert copied == []
    finally:
        twin.drop_twin(twin_url)


def test_a_count_below_k_is_never_released(boom_url):
    text = calibrate.calibrate(boom_url)  # boom has 8 admins: below the default K = 10
    p = profile.parse(text)
    assert p["users.admins"] == profile.load("demo")["users.admins"] != 8
    assert "users.admins" in text.split('name = "calibrated"')[0]  # listed as suppressed in the header
    # With K above every count, nothing the database holds is released: every key is the demo profile's.
    blind = profile.parse(calibrate.calibrate(boom_url, min_count=10**9))
    demo = profile.load("demo")
    differing = [k for k in profile.SPEC if k != "history_days" and blind[k] != demo[k]]
    assert differing == []
    assert not any(
        k in blind
        for k in (
            "users.signups_per_period",
            "conversations.length_weights",
            "submissions.reviewers",
            "conversations.weekly_active_users",
            "conversations.mirror_rows",
            "submissions.per_period",
            "memories.count",
            "tokens.password_reset_users",
            "sessions.live_rows",
        )
    )
    weekly = p["conversations.weekly_active_users"]  # released: each week's count is at least K
    assert len(weekly) == 8 and min(weekly) >= 10


def test_merged_cells_each_hold_at_least_k(boom_url):
    for k in (10, 50):
        p = profile.parse(calibrate.calibrate(boom_url, min_count=k))
        # A merged cell's total is spread evenly over its periods: every run of equal values holds at least k.
        runs, values = [], p["users.signups_per_period"]
        for i, v in enumerate(values):
            if i and v == values[i - 1]:
                runs[-1] += v
            else:
                runs.append(v)
        assert min(runs) >= k - len(values)  # rounding of the spread values
        assert min(w for _, w in p["conversations.length_weights"]) >= k


def test_epsilon_changes_the_released_values_and_the_header_says_so(boom_url):
    plain = calibrate.calibrate(boom_url)
    noisy = calibrate.calibrate(boom_url, epsilon=1.0)
    assert "no differential privacy" in plain and "no differential privacy" not in noisy
    assert "differential privacy, epsilon = 1" in noisy
    a, b = profile.parse(plain), profile.parse(noisy)
    changed = [k for k in profile.SPEC if a[k] != b[k]]
    assert len(changed) >= 10, changed
    # The weeks are noised too (or, noised below K, suppressed).
    assert b.get("conversations.weekly_active_users") != a["conversations.weekly_active_users"]


def test_calibrating_a_feb_2026_generation_database(pg, tiny_template, tmp_path):
    url = pg.create_db("cal_feb", template=tiny_template)
    try:
        to_feb2026(url)
        text = calibrate.calibrate(url)
        p = profile.parse(text)
        header = text.split('name = "calibrated"')[0]
        for key in ("users.contributor_share", "submissions.count", "conversations.regenerate_prob"):
            assert key in header and p[key] == profile.load("demo")[key]
        assert p["users.count"] == 200
        path = calibrate.write_profile(tmp_path / "feb.toml", text)
        twin_url = twin.make_twin(url, path, seed=3, name="cal_feb_twin")
        with psycopg.connect(twin_url) as conn:
            assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 200
        twin.drop_twin(twin_url)
    finally:
        pg.drop_db("cal_feb")


def test_the_profile_is_valid_toml_with_a_comment_on_every_value(boom_url):
    text = calibrate.calibrate(boom_url)
    tomllib.loads(text)
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[", "name", "share", "latency_hours")):
            assert "    # " in line, line


from test_cli_errors import assert_one_sentence_error, run_cli  # noqa: E402


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["--min-count", "0"], "--min-count"),
        (["--epsilon", "0"], "--epsilon"),
        (["--epsilon", "-1"], "--epsilon"),
    ],
)
def test_bad_privacy_settings_are_one_sentence(migrated_url, tmp_path, args, fragment):
    result = run_cli("calibrate", "--database-url", migrated_url, "--output", str(tmp_path / "x.toml"), *args)
    assert_one_sentence_error(result, fragment)


def test_bad_databases_and_outputs_are_one_sentence(pg, fresh_url, migrated_url, tmp_path):
    out = str(tmp_path / "x.toml")
    assert_one_sentence_error(run_cli("calibrate", "--database-url", fresh_url, "--output", out), "no OpenTier tables")
    assert_one_sentence_error(run_cli("calibrate", "--database-url", migrated_url, "--output", out), "no users")
    nowhere = pg.url("no_such_database_here")
    assert_one_sentence_error(run_cli("calibrate", "--database-url", nowhere, "--output", out))
    assert_one_sentence_error(
        run_cli("calibrate", "--database-url", migrated_url, "--output", "/proc/no/x.toml"), "writable"
    )
    assert_one_sentence_error(
        run_cli("calibrate", "--database-url", migrated_url, "--output", str(tmp_path)), "writable"
    )
