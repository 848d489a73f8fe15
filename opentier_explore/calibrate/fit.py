"""The session model's parameters found by simulating the generator's own code until its chat statistics match."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .frame import Frame

_SIM_USERS = 5000
_SIM_SEED = 20260101


@dataclass(frozen=True)
class Targets:
    """Observed per-user shares and conversation statistics of the non-admin users."""

    one_session: float  # share of users with exactly one conversation
    week1: float
    active28: float
    weekly: tuple[float, ...]  # share of users active in each of the last weeks (latest first)
    per_user: float  # conversations per user (the simulation draws as many)
    log_rate: tuple[float, float]  # median and σ of ln(weekly conversation rate), users with ≥ 3 conversations
    no_event: float  # share of users without a conversation
    no_login: float  # share of users who cannot sign in (so never chat)
    session_rows: float | None = None  # rows of the sessions table per user (None: not known)


def _ctx(frame: Frame, params: dict[str, Any], signups: list[int] | None, seed: int):
    from seed.generate.common import DAY, US, Ctx

    as_of = int(frame.as_of.timestamp()) * US
    profile = dict(params)
    if signups:
        profile["users.signups_per_period"] = signups
    return Ctx(profile, np.random.default_rng(seed), as_of, as_of - frame.history_days * DAY)


def _session_rows(ctx, s_owner: np.ndarray, s_created: np.ndarray, signup: np.ndarray) -> float:
    """Rows the generator's own sessions code leaves at as_of for these sign-ins, per simulated user."""
    from types import SimpleNamespace

    from seed.generate import sessions
    from seed.generate.common import DAY

    n = len(signup)
    last = signup.copy()
    np.maximum.at(last, s_owner, s_created)
    people = SimpleNamespace(
        logins=SimpleNamespace(owner=s_owner, created=s_created),
        oauth_only=np.zeros(n, bool),
        signup=signup,
        last=last,
        deleted=np.full(n, -1, np.int64),
    )
    ttl = int(ctx.p("sessions.ttl_days") * DAY)
    _rows, idx = sessions._left_at_as_of(ctx, people, np.zeros(len(s_owner), np.int64), ttl)
    return len(idx) / max(n, 1)


def _simulate(frame: Frame, params: dict[str, Any], signups: list[int] | None, n: int, t: Targets) -> np.ndarray:
    """The statistics of Targets (flattened, as _vector) for one simulated population's conversations."""
    from seed.generate import people
    from seed.generate.common import DAY, MINUTE, US

    ctx = _ctx(frame, params, signups, _SIM_SEED)
    signup = people._signups(ctx, n, 0)
    can_login = np.random.default_rng(_SIM_SEED + 1).random(n) >= t.no_login
    s_owner, s_created = people._sessions(ctx, signup, np.zeros(n, dtype=bool), can_login)
    # As the generator: every conversation starts minutes after one sign-in drawn uniformly from all of them.
    pick = np.random.default_rng(_SIM_SEED + 2).integers(0, max(len(s_owner), 1), int(round(t.per_user * n)))
    owner = s_owner[pick] if len(s_owner) else np.zeros(0, np.int64)
    created = (s_created[pick] + 5 * MINUTE) if len(s_owner) else np.zeros(0, np.int64)
    counts = np.bincount(owner, minlength=n)
    rel = created - signup[owner]
    w1 = np.zeros(n, bool)
    w1[owner[(rel >= 7 * DAY) & (rel < 14 * DAY)]] = True
    observable = signup < ctx.as_of - 14 * DAY
    act = np.zeros(n, bool)
    act[owner[created >= ctx.as_of - 28 * DAY]] = True
    weeks_end = int(frame.weeks_end.timestamp()) * US
    weekly = []
    for k in range(len(t.weekly)):
        on = np.zeros(n, bool)
        on[owner[(created >= weeks_end - 7 * (k + 1) * DAY) & (created < weeks_end - 7 * k * DAY)]] = True
        weekly.append(on.mean())
    first = np.full(n, np.iinfo(np.int64).max)
    last = np.zeros(n, np.int64)
    np.minimum.at(first, owner, created)
    np.maximum.at(last, owner, created)
    weeks = (last - first) / (7 * DAY)
    ok = (counts >= 3) & (weeks > 0)
    lr = np.log((counts[ok] - 1) / weeks[ok]) if ok.any() else np.zeros(1)
    q16, med, q84 = np.quantile(lr, [0.1587, 0.5, 0.8413])
    rows = [_session_rows(ctx, s_owner, s_created, signup)] if t.session_rows is not None else []
    return np.array(
        [
            (counts == 1).mean(),
            w1[observable].mean() if observable.any() else 0.0,
            act.mean(),
            *_logs(weekly),
            (counts == 0).mean(),
            med,
            (q84 - q16) / 2,
            *_logs(rows),
        ]
    )


def _logs(values) -> list[float]:
    """ln of shares and rates, floored: the weekly actives and session rows are fitted by their ratio."""
    return [float(np.log(max(v, 1e-4))) for v in values]


def _vector(t: Targets) -> np.ndarray:
    rows = [t.session_rows] if t.session_rows is not None else []
    return np.array([t.one_session, t.week1, t.active28, *_logs(t.weekly), t.no_event, *t.log_rate, *_logs(rows)])


def _weights(t: Targets) -> np.ndarray:
    """Shares weigh by their difference; weekly actives and session rows by their log ratio (as fidelity's 15 %
    and 10 % tolerances are relative)."""
    rows = [1.0] if t.session_rows is not None else []
    return np.array([4.0, 4.0, 2.0] + [0.25] * len(t.weekly) + [4.0, 0.5, 0.5] + rows)


_LOW = np.array([0.0, 0.0, 0.2, 0.005, 0.0])
_HIGH = np.array([0.98, 0.98, 2000.0, 200.0, 4.0])


def _params(x: np.ndarray, fixed: dict[str, Any]) -> dict[str, Any]:
    a, b_rest, life, rate, sigma = np.clip(x, _LOW, _HIGH)
    return {
        **fixed,
        "sessions.one_time_share": float(a),
        "sessions.loyal_share": float(b_rest * (1 - a)),
        "sessions.mean_lifetime_days": float(life),
        "sessions.weekly_rate_median": float(rate),
        "sessions.weekly_rate_sigma": float(sigma),
        "users.growth": 1.0,
    }


def fit_sessions(t: Targets, frame: Frame, signups: list[int] | None, fixed: dict[str, Any]) -> dict[str, float]:
    """The five churn-model keys whose simulation best matches the targets (Nelder-Mead, fixed simulation seed);
    `fixed` holds the other session keys the simulation reads (max_per_user, ttl, purging shares)."""
    from scipy.optimize import minimize

    goal, weights = _vector(t), _weights(t)
    start = np.array([0.3, 0.1, 60.0, 1.0, 1.0])
    scale = np.array([0.1, 0.1, 30.0, 1.0, 0.3])

    def loss(z: np.ndarray) -> float:
        x = start + z * scale
        if np.any(x < _LOW) or np.any(x > _HIGH):
            return 1e6 + float(np.sum(np.maximum(_LOW - x, 0) + np.maximum(x - _HIGH, 0)))
        sim = _simulate(frame, _params(x, fixed), signups, _SIM_USERS, t)
        return float(np.sum(weights * (sim - goal) ** 2))

    # The simulated statistics are step functions of the parameters: start from a simplex one scale-unit wide.
    simplex = np.vstack([np.zeros(5), np.eye(5)])
    best = minimize(
        loss,
        np.zeros(5),
        method="Nelder-Mead",
        options={"initial_simplex": simplex, "xatol": 0.02, "fatol": 1e-6, "maxfev": 300},
    )
    p = _params(start + best.x * scale, fixed)
    return {k: p[k] for k in _FITTED}


_FITTED = (
    "sessions.one_time_share",
    "sessions.loyal_share",
    "sessions.mean_lifetime_days",
    "sessions.weekly_rate_median",
    "sessions.weekly_rate_sigma",
)
