"""Moderation latency of knowledge_submissions: how long contributors wait for an admin's review.

Conventions (both paths follow them exactly):
- `as_of` defaults to the latest `created_at` or `reviewed_at` of knowledge_submissions; it is
  truncated to the microsecond (PostgreSQL's resolution). Only rows created at or before `as_of` count.
- A row is *decided* when its status is 'approved' or 'rejected', and *consistent* when it is decided
  with a `reviewed_at` at or after `created_at`. Its latency is `reviewed_at − created_at`.
- At `as_of` a row is *observed* (a review happened) when consistent with `reviewed_at <= as_of`,
  and *censored* (still waiting) when its status is 'pending' or it is consistent but reviewed after
  `as_of`; a censored row waits `as_of − created_at`. `by_status` counts the status at `as_of`
  (a review after `as_of` counts as 'pending'); 'pending', 'approved', 'rejected' always appear, other
  statuses after them in sorted order.
- `percentiles` (p50/p90/p99, linear interpolation like percentile_cont) and `by_reviewer` use observed
  rows; `km_median` is the Kaplan-Meier median over observed (event) and censored rows,
  NaT when survival never falls to one half. Durations are exact to the microsecond.
- `backlog`: at each week end (Monday 00:00 UTC, ISO weeks, after the first submission and up to
  `as_of`), the rows created before it that were pending then (status 'pending', or consistent and
  reviewed at or after it).
- `inconsistent`: one row per (submission, problem): 'reviewed_without_reviewed_at' (decided, no
  reviewed_at), 'reviewed_before_created' (reviewed_at < created_at), 'missing_reviewer' (decided,
  no reviewed_by), 'reviewer_not_admin' (reviewed_by is not a user whose current role is 'admin').
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..snapshots import consistent
from . import _source

PROBLEMS = ("reviewed_without_reviewed_at", "reviewed_before_created", "missing_reviewer", "reviewer_not_admin")
_KNOWN = ("pending", "approved", "rejected")
_KS = ("id", "status", "created_at", "reviewed_at", "reviewed_by")
_NEEDS = {"knowledge_submissions": _KS, "users": ("id", "role")}


@dataclass(frozen=True)
class ModerationLatency:
    """The moderation-latency report; every attribute is a value, Series or DataFrame."""

    as_of: pd.Timestamp
    by_status: pd.Series  # status → count
    percentiles: pd.Series  # p50/p90/p99 → Timedelta
    km_median: pd.Timedelta  # or NaT
    backlog: pd.Series  # week_end → pending count
    by_reviewer: pd.DataFrame  # reviewed_by → n_reviewed, n_approved, n_rejected, median_latency, p90_latency, is_admin
    inconsistent: pd.DataFrame  # id, status, created_at, reviewed_at, reviewed_by, problem
    life_table: pd.DataFrame  # duration → observed, censored (the Kaplan-Meier input)
    km_curve: pd.Series  # duration → survival probability


@consistent("src")
def moderation_latency(src: _source.Source, as_of: pd.Timestamp | str | None = None) -> ModerationLatency:
    """Counts by status, latency percentiles, Kaplan-Meier median, weekly backlog, per-reviewer figures, inconsistent rows."""
    if _source.is_engine(src):
        _source.check_sql(src, _NEEDS, "moderation_latency")
        return _from_sql(src, as_of)
    ks = _source.frame(src, "knowledge_submissions", _KS, "moderation_latency")
    users = _source.frame(src, "users", ("id", "role"), "moderation_latency")
    return _from_frames(ks, users, as_of)


def _micro_seconds(delta: pd.Series) -> np.ndarray:
    """Timedeltas as float seconds computed from exact microseconds (matches PostgreSQL's epoch arithmetic)."""
    us = delta.to_numpy(dtype="timedelta64[ns]").astype(np.int64) // 1000
    return us / 1e6


def _as_of(as_of, latest) -> pd.Timestamp:
    chosen = _source.utc(as_of) if as_of is not None else _source.utc(latest)
    return chosen.floor("us") if not pd.isna(chosen) else pd.NaT


def _from_frames(ks: pd.DataFrame, users: pd.DataFrame, as_of) -> ModerationLatency:
    created = _source.utc(ks["created_at"]).reset_index(drop=True)
    reviewed = _source.utc(ks["reviewed_at"]).reset_index(drop=True)
    as_of = _as_of(as_of, pd.concat([created, reviewed]).max())
    status = ks["status"].astype(object).reset_index(drop=True)
    reviewer = ks["reviewed_by"].astype(object).reset_index(drop=True)
    ids = ks["id"].astype(object).reset_index(drop=True)
    keep = (created <= as_of).to_numpy()
    created, reviewed, status, reviewer, ids = (
        s[keep].reset_index(drop=True) for s in (created, reviewed, status, reviewer, ids)
    )
    decided = status.isin(["approved", "rejected"]).to_numpy()
    has_rev = reviewed.notna().to_numpy()
    consistent = decided & has_rev & (reviewed >= created).fillna(False).to_numpy()
    later = (reviewed > as_of).fillna(False).to_numpy()
    observed = consistent & ~later
    censored = (status == "pending").to_numpy() | (consistent & later)
    eff = status.where(~(consistent & later), "pending")
    latency = np.full(len(ids), np.nan)
    latency[observed] = _micro_seconds(reviewed[observed] - created[observed])
    waited = _micro_seconds(as_of - created[censored])

    durations = np.concatenate([latency[observed], waited])
    flags = np.concatenate([np.ones(observed.sum(), bool), np.zeros(censored.sum(), bool)])
    life = pd.DataFrame({"d": durations, "observed": flags.astype(np.int64), "censored": (~flags).astype(np.int64)})
    life = life.groupby("d", sort=True)[["observed", "censored"]].sum().reset_index()

    ends = _source.week_ends(created.min(), as_of)
    c_ns = created.to_numpy(dtype="datetime64[ns]")
    r_ns = reviewed.to_numpy(dtype="datetime64[ns]")
    pending_always = (status == "pending").to_numpy()
    counts = [
        int(np.sum((c_ns < t) & (pending_always | (consistent & (r_ns >= t)))))
        for t in ends.tz_convert(None).to_numpy()
    ]  # one vectorized pass per week end, not per row
    backlog = pd.Series(counts, index=ends, dtype=np.int64, name="pending")

    obs = pd.DataFrame({"reviewed_by": reviewer[observed], "status": status[observed], "s": latency[observed]})
    obs = obs[obs["reviewed_by"].notna()]
    roles = pd.Series(users["role"].astype(object).to_numpy(), index=users["id"].astype(object).to_numpy())
    if len(obs):
        g = obs.groupby("reviewed_by", sort=True)
        rev = pd.DataFrame(
            {
                "n_reviewed": g.size(),
                "n_approved": g["status"].agg(lambda s: int((s == "approved").sum())),
                "n_rejected": g["status"].agg(lambda s: int((s == "rejected").sum())),
                "median": g["s"].quantile(0.5),
                "p90": g["s"].quantile(0.9),
            }
        ).reset_index()
    else:
        rev = pd.DataFrame(columns=["reviewed_by", "n_reviewed", "n_approved", "n_rejected", "median", "p90"])
    rev["is_admin"] = rev["reviewed_by"].map(roles).eq("admin").to_numpy(dtype=bool)

    problems = {
        PROBLEMS[0]: decided & ~has_rev,
        PROBLEMS[1]: has_rev & (reviewed < created).fillna(False).to_numpy(),
        PROBLEMS[2]: decided & reviewer.isna().to_numpy(),
        PROBLEMS[3]: reviewer.notna().to_numpy() & ~reviewer.map(roles).eq("admin").to_numpy(dtype=bool),
    }
    bad = pd.concat(
        [
            pd.DataFrame(
                {
                    "id": ids[m],
                    "status": status[m],
                    "created_at": created[m],
                    "reviewed_at": reviewed[m],
                    "reviewed_by": reviewer[m],
                    "problem": name,
                }
            )
            for name, m in problems.items()
        ],
        ignore_index=True,
    )
    pct = np.quantile(latency[observed], [0.5, 0.9, 0.99]) if observed.any() else [np.nan] * 3
    return _assemble(as_of, eff.value_counts(), pct, life, backlog, rev, bad)


def _assemble(
    as_of, counts: pd.Series, pct, life: pd.DataFrame, backlog: pd.Series, rev: pd.DataFrame, bad: pd.DataFrame
) -> ModerationLatency:
    """The report from the path-independent pieces, with the shared dtypes and orderings."""
    counts = counts.astype(np.int64)
    order = list(_KNOWN) + sorted(s for s in counts.index if s not in _KNOWN)
    by_status = counts.reindex(order, fill_value=0).astype(np.int64).rename("count").rename_axis("status")
    percentiles = pd.Series(
        [_source.seconds_to_timedelta(x) for x in pct],
        index=["p50", "p90", "p99"],
        name="latency",
        dtype="timedelta64[ns]",
    )
    life = life.sort_values("d").reset_index(drop=True)
    life_table = pd.DataFrame(
        {
            "observed": life["observed"].astype(np.int64).to_numpy(),
            "censored": life["censored"].astype(np.int64).to_numpy(),
        },
        index=pd.TimedeltaIndex([_source.seconds_to_timedelta(x) for x in life["d"]], name="duration").as_unit("ns"),
    )
    km_median, km_curve = _kaplan_meier(
        life["d"].to_numpy(float), life["observed"].to_numpy(np.int64), life["censored"].to_numpy(np.int64)
    )
    rev = rev.assign(
        n_reviewed=rev["n_reviewed"].astype(np.int64),
        n_approved=rev["n_approved"].astype(np.int64),
        n_rejected=rev["n_rejected"].astype(np.int64),
        median_latency=pd.to_timedelta([_source.seconds_to_timedelta(x) for x in rev["median"]]).as_unit("ns"),
        p90_latency=pd.to_timedelta([_source.seconds_to_timedelta(x) for x in rev["p90"]]).as_unit("ns"),
        is_admin=rev["is_admin"].astype(bool),
        reviewed_by=rev["reviewed_by"].astype("str"),
    )
    rev = rev.sort_values(["n_reviewed", "reviewed_by"], ascending=[False, True], kind="stable")
    by_reviewer = rev.set_index("reviewed_by")[
        ["n_reviewed", "n_approved", "n_rejected", "median_latency", "p90_latency", "is_admin"]
    ]
    bad = bad.assign(
        id=bad["id"].astype("str"),
        status=bad["status"].astype("str"),
        reviewed_by=bad["reviewed_by"].astype("str"),
        created_at=_source.utc(bad["created_at"]).to_numpy(),
        reviewed_at=_source.utc(bad["reviewed_at"]).to_numpy(),
        problem=pd.Categorical(bad["problem"], categories=list(PROBLEMS)),
    )
    bad = bad.sort_values(["problem", "id"], kind="stable").reset_index(drop=True)
    backlog.index.name = "week_end"
    return ModerationLatency(as_of, by_status, percentiles, km_median, backlog, by_reviewer, bad, life_table, km_curve)


def _kaplan_meier(d: np.ndarray, observed: np.ndarray, censored: np.ndarray) -> tuple[pd.Timedelta, pd.Series]:
    """Kaplan-Meier median and curve from the life table (distinct duration → counts), never the clock."""
    empty = pd.Series([], index=pd.TimedeltaIndex([], name="duration").as_unit("ns"), dtype=float, name="survival")
    if not len(d):
        return pd.NaT, empty
    times, survival = kaplan_meier(np.asarray(d, float), np.asarray(observed, float), np.asarray(censored, float))
    below = np.flatnonzero(survival <= 0.5)
    median = _source.seconds_to_timedelta(float(times[below[0]]) if below.size else np.inf)
    index = pd.TimedeltaIndex([_source.seconds_to_timedelta(x) for x in times], name="duration").as_unit("ns")
    return median, pd.Series(survival, index=index, name="survival")


def kaplan_meier(d: np.ndarray, observed: np.ndarray, censored: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Product-limit survival S(t) at 0 (or the least duration, if negative) and at every duration of a weighted life table."""
    # The estimator lifelines' KaplanMeierFitter computes (exp of the summed log(1 - deaths/at-risk)), term for
    # term; lifelines itself pins pandas < 3, so the kit carries these few lines instead.
    times, where = np.unique(np.concatenate([[min(0.0, float(d.min()))], d]), return_inverse=True)
    where = where[1:]
    deaths = np.bincount(where, weights=observed, minlength=len(times))
    removed = np.bincount(where, weights=observed + censored, minlength=len(times))
    at_risk = removed.sum() - np.concatenate([[0.0], np.cumsum(removed)[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.log(at_risk - deaths) - np.log(at_risk)
    terms[np.isnan(terms)] = 0.0  # nobody left at risk: the curve stays where it was
    return times, np.exp(np.cumsum(terms))


def _from_sql(engine, as_of) -> ModerationLatency:
    latest = _source.query(
        engine, "SELECT greatest(max(created_at), max(reviewed_at)) AS t FROM knowledge_submissions"
    )["t"].iloc[0]
    as_of = _as_of(as_of, latest)
    if pd.isna(as_of):
        as_of_param = None
    else:
        as_of_param = as_of.to_pydatetime()
    p = {"as_of": as_of_param}
    cte = _CTE
    counts = _source.query(engine, cte + "SELECT eff_status AS status, count(*) AS n FROM c GROUP BY eff_status", p)
    counts = (
        pd.Series(counts["n"].to_numpy(np.int64), index=counts["status"].astype(object).to_numpy())
        if len(counts)
        else pd.Series(dtype=np.int64)
    )
    pct = _source.query(
        engine,
        cte + "SELECT percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY dur) AS q FROM c WHERE observed",
        p,
    )["q"].iloc[0]
    pct = [np.nan] * 3 if pct is None else [float(x) for x in pct]
    life = _source.query(
        engine,
        cte
        + "SELECT dur AS d, count(*) FILTER (WHERE observed) AS observed, count(*) FILTER (WHERE censored) AS censored "
        "FROM c WHERE observed OR censored GROUP BY dur ORDER BY dur",
        p,
    )
    life = (
        life.astype({"d": float, "observed": np.int64, "censored": np.int64})
        if len(life)
        else pd.DataFrame({"d": [], "observed": [], "censored": []})
    )
    first = _source.query(engine, cte + "SELECT min(created_at) AS t FROM c", p)["t"].iloc[0]
    ends = _source.week_ends(_source.utc(first), as_of)
    rows = _source.query(
        engine,
        cte + "SELECT t, count(c.id) AS n FROM unnest(CAST(:ends AS timestamptz[])) AS t "
        "LEFT JOIN c ON c.created_at < t AND (c.status = 'pending' OR (c.consistent AND c.reviewed_at >= t)) GROUP BY t ORDER BY t",
        {**p, "ends": [t.to_pydatetime() for t in ends]},
    )
    backlog = pd.Series(rows["n"].to_numpy(np.int64) if len(rows) else [], index=ends, dtype=np.int64, name="pending")
    rev = _source.query(
        engine,
        cte + "SELECT c.reviewed_by::text AS reviewed_by, count(*) AS n_reviewed, "
        "count(*) FILTER (WHERE c.status = 'approved') AS n_approved, count(*) FILTER (WHERE c.status = 'rejected') AS n_rejected, "
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY dur) AS median, percentile_cont(0.9) WITHIN GROUP (ORDER BY dur) AS p90, "
        "coalesce(bool_or(u.role::text = 'admin'), false) AS is_admin "
        "FROM c LEFT JOIN users u ON u.id = c.reviewed_by WHERE observed AND c.reviewed_by IS NOT NULL GROUP BY c.reviewed_by",
        p,
    )
    if rev.empty:
        rev = pd.DataFrame(
            columns=["reviewed_by", "n_reviewed", "n_approved", "n_rejected", "median", "p90", "is_admin"]
        )
    rev["median"] = rev["median"].astype(float)
    rev["p90"] = rev["p90"].astype(float)
    bad = _source.query(engine, cte + _BAD_SQL, p)
    if bad.empty:
        bad = pd.DataFrame(columns=["id", "status", "created_at", "reviewed_at", "reviewed_by", "problem"])
    return _assemble(as_of, counts, pct, life, backlog, rev, bad)


_CTE = """
WITH s AS (
    SELECT id, status, created_at, reviewed_at, reviewed_by,
           status IN ('approved', 'rejected') AS decided,
           (status IN ('approved', 'rejected') AND reviewed_at IS NOT NULL AND reviewed_at >= created_at) AS consistent
    FROM knowledge_submissions WHERE created_at <= CAST(:as_of AS timestamptz)
),
c AS (
    SELECT s.*,
           CASE WHEN consistent AND reviewed_at > CAST(:as_of AS timestamptz) THEN 'pending' ELSE status END AS eff_status,
           (consistent AND reviewed_at <= CAST(:as_of AS timestamptz)) AS observed,
           (status = 'pending' OR (consistent AND reviewed_at > CAST(:as_of AS timestamptz))) AS censored,
           CAST(CASE WHEN consistent AND reviewed_at <= CAST(:as_of AS timestamptz)
                     THEN extract(epoch FROM reviewed_at) - extract(epoch FROM created_at)
                     ELSE extract(epoch FROM CAST(:as_of AS timestamptz)) - extract(epoch FROM created_at) END AS float8) AS dur
    FROM s
)
"""

_BAD_SQL = """
, u AS (SELECT id, role::text AS role FROM users),
b AS (
    SELECT c.*, 'reviewed_without_reviewed_at' AS problem FROM c WHERE decided AND reviewed_at IS NULL
    UNION ALL SELECT c.*, 'reviewed_before_created' FROM c WHERE reviewed_at < created_at
    UNION ALL SELECT c.*, 'missing_reviewer' FROM c WHERE decided AND reviewed_by IS NULL
    UNION ALL SELECT c.*, 'reviewer_not_admin' FROM c LEFT JOIN u ON u.id = c.reviewed_by
              WHERE c.reviewed_by IS NOT NULL AND u.role IS DISTINCT FROM 'admin'
)
SELECT id::text AS id, status, created_at, reviewed_at, reviewed_by::text AS reviewed_by, problem FROM b
"""
