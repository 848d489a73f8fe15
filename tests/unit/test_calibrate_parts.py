"""Calibration's pure parts: small-cell merging, histogram quantiles, noise, the profile extension, fidelity's table."""

from __future__ import annotations

import numpy as np
import pytest

from opentier_explore.calibrate import release
from opentier_explore.fidelity import compare
from seed import distributions, profile
from seed.errors import ProfileError

TINY = (profile.PROFILES_DIR / "tiny.toml").read_text()


def test_merge_small_makes_every_cell_reach_k():
    groups = release.merge_small(np.array([3, 12, 1, 1, 20, 4, 2]), 10)
    assert [(a, b) for a, b, _ in groups] == [(0, 1), (2, 4), (5, 6)] or all(t >= 10 for *_, t in groups)
    assert all(t >= 10 for *_, t in groups) and sum(t for *_, t in groups) == 43


def test_merge_small_releases_nothing_below_k_in_total():
    assert release.merge_small(np.array([2, 3, 4]), 10) == []
    assert release.spread(np.array([2, 3, 4]), 10) is None


def test_spread_keeps_the_total():
    out = release.spread(np.array([5.0, 5.0, 30.0, 1.0]), 10)
    assert out.sum() == pytest.approx(41) and (out[:2] == 5).all()


def test_histogram_quantiles_interpolate_inside_cells():
    q = release.quantiles(np.array([10.0, 10.0]), np.array([0.0, 1.0, 2.0]), [0.25, 0.5, 1.0])
    assert q == pytest.approx([0.5, 1.0, 2.0])


def test_noise_changes_counts_and_never_goes_negative():
    stats = {"a": release.Stat((100.0, 0.0, 5.0, 1000.0), 1)}
    plain = release.release(stats, min_count=10, epsilon=None, parts=1)
    assert plain.vector("a").tolist() == [100.0, 0.0, 5.0, 1000.0]
    noisy = [release.release(stats, min_count=10, epsilon=0.5, parts=1).vector("a") for _ in range(5)]
    assert any((v != plain.vector("a")).any() for v in noisy)
    assert all((v >= 0).all() for v in noisy)


def _with(extra: str):
    return profile.parse(TINY + "\n" + extra, "<test>")


def test_profiles_without_distributions_still_parse():
    assert not any(k in profile.parse(TINY) for k in distributions.KEYS)


def test_distributions_parse():
    p = profile.parse(
        TINY.replace("[users]\n", "[users]\nsignups_per_period = [1, 2, 3]\n", 1).replace(
            "[conversations]\n", "[conversations]\nlength_weights = [[4, 1], [2, 3.5]]\n", 1
        )
        + "\n[[submissions.reviewers]]\nshare = 1\nlatency_hours = [[0.1, 1.0], [0.9, 10.0]]\n"
    )
    assert p["users.signups_per_period"] == [1.0, 2.0, 3.0]
    assert p["conversations.length_weights"] == [(2, 3.5), (4, 1.0)]
    assert p["submissions.reviewers"][0]["latency_hours"] == [(0.1, 1.0), (0.9, 10.0)]


@pytest.mark.parametrize(
    "section,line,key",
    [
        ("[users]\n", "signups_per_period = [1, -2]\n", "users.signups_per_period"),
        ("[users]\n", "signups_per_period = []\n", "users.signups_per_period"),
        ("[conversations]\n", "length_weights = [[0, 1]]\n", "conversations.length_weights"),
        ("[conversations]\n", "length_weights = [[2.5, 1]]\n", "conversations.length_weights"),
    ],
)
def test_bad_distributions_are_named(section, line, key):
    with pytest.raises(ProfileError, match=key):
        profile.parse(TINY.replace(section, section + line, 1))


def test_bad_reviewer_quantiles_are_named():
    with pytest.raises(ProfileError, match="submissions.reviewers"):
        profile.parse(TINY + "\n[[submissions.reviewers]]\nshare = 1\nlatency_hours = [[0.9, 1.0], [0.1, 10.0]]\n")


def test_empirical_keys_change_the_generated_rows():
    from seed.generate import generate

    base = profile.parse(TINY)
    edited = profile.parse(TINY.replace("[conversations]\n", "[conversations]\nlength_weights = [[2, 1]]\n", 1))
    chat = {t.name: t for t in generate(edited, 1)}["chat_messages"]
    plain = {t.name: t for t in generate(base, 1)}["chat_messages"]
    assert len(chat) != len(plain)


def test_compare_reports_difference_and_tolerance():
    table = compare(
        {"rows: users": 100.0, "role_share: admin (%)": 1.0}, {"rows: users": 115.0, "role_share: admin (%)": 2.5}
    )
    assert list(table.columns) == ["metric", "source", "twin", "difference", "tolerance", "within"]
    assert table["difference"].tolist() == pytest.approx([0.15, 1.5])
    assert table["within"].tolist() == [False, True]


def test_as_of_is_the_first_midnight_at_or_after_the_latest_activity():
    import datetime as dt

    from opentier_explore.calibrate.frame import midnight_at_or_after

    utc = dt.UTC
    assert midnight_at_or_after(dt.datetime(2026, 6, 30, tzinfo=utc)) == dt.datetime(2026, 6, 30, tzinfo=utc)
    assert midnight_at_or_after(dt.datetime(2026, 6, 29, 23, 59, 59, 999999, tzinfo=utc)) == dt.datetime(
        2026, 6, 30, tzinfo=utc
    )
    assert midnight_at_or_after(dt.datetime(2026, 6, 30, 0, 0, 1, tzinfo=utc)) == dt.datetime(2026, 7, 1, tzinfo=utc)


def test_stratified_draws_hold_every_share_and_quantile_exactly():
    from seed.generate.common import DAY, US, Ctx
    from seed.generate.people import _stratified

    p = dict(profile.load("tiny"))
    n = 2000
    for seed in (1, 2, 3):
        ctx = Ctx(p, np.random.default_rng(seed), 1_782_777_600 * US, (1_782_777_600 - 365 * 86400) * US)
        kind, life, z = _stratified(ctx, n)
        for share in (0.05, 0.35, 0.9):
            assert abs((kind < share).sum() - share * n) <= 1  # a fresh uniform draw: ±sqrt(n·s·(1-s)) ≈ ±21
        assert abs((z < 0).sum() - n / 2) <= 1 and abs((z < 1).sum() - 0.8413 * n) <= 1
        median_life = np.median(life) / DAY
        assert abs(median_life - p["sessions.mean_lifetime_days"] * np.log(2)) < 0.01 * median_life


def test_sessions_stratified_must_be_a_flag():
    with pytest.raises(ProfileError, match="sessions.stratified"):
        distributions.check("test", {"sessions.stratified": "yes"})
    assert distributions.check("test", {"sessions.stratified": True}) == {"sessions.stratified": True}


def test_weekly_active_users_must_be_whole_counts():
    key = "conversations.weekly_active_users"
    for bad in ([], [1.5], [-1], "3", [True], [0] * (distributions.MAX_WEEKS + 1)):
        with pytest.raises(ProfileError, match="weekly_active_users"):
            distributions.check("test", {key: bad})
    assert distributions.check("test", {key: [3, 4.0, 0]}) == {key: [3, 4, 0]}


def test_submissions_by_contributor_time_must_be_a_flag():
    with pytest.raises(ProfileError, match="by_contributor_time"):
        distributions.check("test", {"submissions.by_contributor_time": 1})


def _weekly_actives(prof: profile.Profile, seed: int, weeks: int) -> tuple[list[int], int]:
    """Distinct non-admin users starting a conversation in each of the last complete weeks (oldest first), and the
    number of conversations, as the generator places them."""
    from seed.generate import chat, people, weekly
    from seed.generate.common import WEEK, make_ctx

    ctx = make_ctx(prof, seed)
    _tables, ppl = people.generate(ctx)
    _ids, owner, start = chat._starts(ctx, ppl, prof["conversations.count"])
    week = (weekly.weeks_end(ctx.as_of) - 1 - start) // WEEK
    known = owner >= 0
    counted = known & ~ppl.admin[np.maximum(owner, 0)]
    got = [len(np.unique(owner[counted & (week == k)])) for k in range(weeks)]
    return got[::-1], len(start)


def test_the_recent_weeks_hold_the_profiles_weekly_active_users():
    base = profile.load("demo")
    uniform, n = _weekly_actives(base, 42, 8)
    # A dip and a peak no stationary model holds, within what the weeks' sign-ins allow.
    target = [int(round(u * f)) for u, f in zip(uniform, (1.0, 0.8, 1.15, 0.9, 1.0, 0.7, 1.1, 1.0))]
    for seed in (42, 7):
        prof = profile.Profile(base)
        prof["conversations.weekly_active_users"] = target
        got, m = _weekly_actives(prof, seed, 8)
        assert m == n
        # A conversation starts minutes after its sign-in: one may cross into the next week.
        assert all(abs(g - t) <= 2 for g, t in zip(got, target)), (got, target)
    other, _ = _weekly_actives(base, 7, 8)
    assert max(abs(a - b) for a, b in zip(other, uniform)) > 2  # without the key: each seed's own weeks


def test_mirror_rows_and_submissions_per_period_are_validated():
    with pytest.raises(ProfileError, match="mirror_rows"):
        distributions.check("test", {"conversations.mirror_rows": 2.5})
    with pytest.raises(ProfileError, match="memories.count"):
        distributions.check("test", {"memories.count": -1})
    with pytest.raises(ProfileError, match="per_period"):
        distributions.check("test", {"submissions.per_period": [0, 0]})
    got = distributions.check("test", {"conversations.mirror_rows": 40.0, "submissions.per_period": [1, 3]})
    assert got == {"conversations.mirror_rows": 40, "submissions.per_period": [1.0, 3.0]}


def test_calibrated_keys_hold_messages_rows_and_submission_periods():
    import datetime as dt

    from seed.generate import generate

    prof = profile.Profile(profile.load("tiny"))
    prof["conversations.mirror_rows"] = 300
    prof["submissions.per_period"] = [0, 0, 0, 1]  # every submission in the last quarter of the history
    prof["memories.count"] = 33
    prof["tokens.password_reset_users"] = 17
    tables = {t.name: t for t in generate(prof, 42)}
    plain = len({t.name: t for t in generate(profile.load("tiny"), 42)}["sessions"])
    for rows in (plain // 2, plain + 5):
        prof["sessions.live_rows"] = rows
        sessions = {t.name: t for t in generate(prof, 42)}["sessions"]
        admins = set(tables["users"].data[0][: prof["users.admins"]])  # admins sign up first
        assert sum(u not in admins for u in sessions.data[1]) == rows
    assert len(tables["user_memories"]) == 33
    assert 17 <= len(tables["password_reset_tokens"]) <= 17 + prof["tokens.live_password_resets"]
    assert abs(len(tables["messages"]) - 300) <= 20  # the last mirrored conversation's length at most
    created = sorted(tables["knowledge_submissions"].data[-2])
    as_of = prof.as_of.isoformat().replace("+00:00", "")
    assert created and created[-1] <= as_of  # never after as_of
    quarter = (prof.as_of - dt.timedelta(days=prof["history_days"] / 4)).isoformat()[:19]
    assert sum(c >= quarter for c in created) >= 0.9 * len(created), (created[:3], quarter)
