"""Profiles: the shipped ones are valid and sized as promised; a bad value is refused naming its key."""

from __future__ import annotations

import datetime as dt

import pytest

from seed import profile
from seed.errors import ProfileError

TINY_TEXT = (profile.PROFILES_DIR / "tiny.toml").read_text()


@pytest.mark.parametrize(
    "name,users,conversations",
    [("tiny", 200, 700), ("demo", 5000, 37000), ("large", 50000, 440000), ("huge", 170000, 1500000)],
)
def test_builtin_profiles_are_valid(name, users, conversations):
    p = profile.load(name)
    assert p.name == name
    assert p["users.count"] == users and p["conversations.count"] == conversations
    assert p.as_of.tzinfo is not None and p.as_of.utcoffset() == dt.timedelta(0)
    assert p["faults.cycles"] == 0 and p["faults.cross_conversation_parents"] == 0


def test_demo_covers_about_a_year_ending_mid_2026():
    p = profile.load("demo")
    assert p.as_of == dt.datetime(2026, 6, 30, tzinfo=dt.UTC)
    assert 330 <= p["history_days"] <= 400


def test_builtin_names():
    assert profile.builtin_names() == ["demo", "huge", "large", "tiny"]


@pytest.mark.parametrize(
    "old,new,key",
    [
        ("count = 200", "count = -1", "'users.count'"),
        ("count = 200", "count = 2.5", "'users.count'"),
        ("count = 200", "count = 10000000000000000000", "'users.count'"),  # beyond numpy's sizes
        ("count = 700", "count = 1000000000001", "'conversations.count'"),
        ("orphan_share = 0.03", "orphan_share = 1.01", "'conversations.orphan_share'"),
        ("orphan_share = 0.03", "orphan_share = -0.1", "'conversations.orphan_share'"),
        ("oauth_only_share = 0.30", "oauth_only_share = nan", "'users.oauth_only_share'"),
        ("growth = 4.0", 'growth = "4"', "'users.growth'"),
        ("max_depth = 40", "max_depth = 1", "'conversations.max_depth'"),
        ("signout_share = 0.30", "signout_share = true", "'sessions.signout_share'"),
        ("keep_history = false", "keep_history = 0", "'sessions.keep_history'"),
        ("keep_history = false", 'keep_history = "no"', "'sessions.keep_history'"),
        ("ttl_days = 7", "ttl_dais = 7", "'sessions.ttl_dais'"),
        ("ttl_days = 7", "", "'sessions.ttl_days'"),
        ("as_of = 2026-06-30T00:00:00Z", "as_of = 2026-06-30T00:00:00", "'as_of'"),
        ("as_of = 2026-06-30T00:00:00Z", "as_of = 2026-06-30", "'as_of'"),
        ('name = "tiny"', 'name = ""', "'name'"),
        ("admins = 3", "admins = 0", "'users.admins'"),
        ("admins = 3", "admins = 201", "'users.admins'"),
    ],
)
def test_bad_values_name_the_key(old, new, key):
    assert old in TINY_TEXT
    with pytest.raises(ProfileError) as err:
        profile.parse(TINY_TEXT.replace(old, new, 1), "test")
    message = str(err.value)
    assert key in message and message.endswith(".") and "\n" not in message


def test_shares_that_cannot_add_up_are_refused():
    text = TINY_TEXT.replace("one_time_share = 0.35", "one_time_share = 0.95", 1)
    with pytest.raises(ProfileError, match="sessions.one_time_share"):
        profile.parse(text, "test")


def test_a_file_that_is_not_text_is_one_sentence(tmp_path):
    path = tmp_path / "binary.toml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ProfileError, match="is not UTF-8 text") as err:
        profile.load(str(path))
    assert "permissions" not in str(err.value)


def test_broken_toml_is_one_sentence():
    with pytest.raises(ProfileError, match="not valid TOML"):
        profile.parse("name = ", "test")


def test_a_path_to_a_users_copy(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(TINY_TEXT.replace("count = 200", "count = 50", 1))
    assert profile.load(str(path))["users.count"] == 50
    with pytest.raises(ProfileError, match="does not exist"):
        profile.load(str(tmp_path / "nope.toml"))
    with pytest.raises(ProfileError, match="Unknown profile 'nope'"):
        profile.load("nope")


def test_zero_sizes_are_allowed():
    text = TINY_TEXT
    for old in ("count = 200", "admins = 3"):
        text = text.replace(old, old.split("=")[0] + "= 0", 1)
    assert profile.parse(text, "test")["users.count"] == 0
