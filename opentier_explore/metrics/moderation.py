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
from ._metric import Metric
from ._survival import kaplan_meier, kaplan_meier_median  # noqa: F401 (kaplan_meier: public here before)

__all__ = ["moderation_latency", "ModerationLatency"]  # what metrics/__init__ exports

# ---- what it needs from the catalog ---------------------------------------------------------------------
NEEDS = {
    "knowledge_submissions": ("id", "status", "created_at", "reviewed_at", "reviewed_by"),
    "users": ("id", "role"),
}
PROBLEMS = ("reviewed_without_reviewed_at", "reviewed_before_created", "missing_reviewer", "reviewer_not_admin")
_KNOWN = ("pending", "approved", "rejected")
_REVIEWER_COLUMNS = ["reviewed_by", "n_reviewed", "n_approved", "n_rejected", "median", "p90", "is_admin"]
_ROW_COLUMNS = ["id", "status", "created_at", "reviewed_at", "reviewed_by"]
#: the parts of SQL's one row, and their columns
_PARTS = {
    "counts": ("status", "n"),
    "life": ("d", "observed", "censored"),
    "backlog": ("t", "n"),
    "reviewers": _REVIEWER_COLUMNS,
    "bad": (*_ROW_COLUMNS, "problem"),
}


# ---- the result ------------------------------------------------------------------------------------------
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


@dataclass(frozen=True)
class _Pieces:
    """What both paths compute; _assemble turns it into the report."""

    as_of: pd.Timestamp
    counts: pd.Series  # status at as_of → rows
    pct: list  # p50, p90, p99 of the observed latencies, in seconds
    life: pd.DataFrame  # d (seconds), observed, censored
    backlog: pd.Series  # week end → pending rows
    reviewers: pd.DataFrame  # _REVIEWER_COLUMNS, latencies in seconds
    bad: pd.DataFrame  # _ROW_COLUMNS + problem


@consistent("src")
def moderation_latency(src: _source.Source, as_of: pd.Timestamp | str | None = None) -> ModerationLatency:
    """Counts by status, latency percentiles, Kaplan-Meier median, weekly backlog, per-reviewer figures, inconsistent rows."""
    if _source.is_engine(src):
        _source.check_sql(src, NEEDS, "moderation_latency")
        return _assemble(_from_sql(src, as_of))
    frames = {t: _source.frame(src, t, cols, "moderation_latency") for t, cols in NEEDS.items()}
    return _assemble(_from_frames(frames, as_of))


# ---- in PostgreSQL: one statement ------------------------------------------------------------------------
SQL = """
WITH bounds AS (
    SELECT coalesce(CAST(:as_of AS timestamptz),
                    (SELECT greatest(max(created_at), max(reviewed_at)) FROM knowledge_submissions)) AS as_of
),
s AS (
    SELECT k.id, k.status::text AS status, k.created_at, k.reviewed_at, k.reviewed_by, b.as_of,
           k.status IN ('approved', 'rejected') AS decided,
           (k.status IN ('approved', 'rejected') AND k.reviewed_at IS NOT NULL AND k.reviewed_at >= k.created_at)
               AS consistent
    FROM knowledge_submissions k CROSS JOIN bounds b WHERE k.created_at <= b.as_of
),
c AS (
    SELECT s.*,
           CASE WHEN consistent AND reviewed_at > as_of THEN 'pending' ELSE status END AS eff_status,
           (consistent AND reviewed_at <= as_of) AS observed,
           (status = 'pending' OR (consistent AND reviewed_at > as_of)) AS censored,
           CAST(CASE WHEN consistent AND reviewed_at <= as_of
                     THEN extract(epoch FROM reviewed_at) - extract(epoch FROM created_at)
                     ELSE extract(epoch FROM as_of) - extract(epoch FROM created_at) END AS float8) AS dur
    FROM s
),
counts AS (SELECT eff_status AS status, count(*) AS n FROM c GROUP BY eff_status),
life AS (
    SELECT dur AS d, count(*) FILTER (WHERE observed) AS observed, count(*) FILTER (WHERE censored) AS censored
    FROM c WHERE observed OR censored GROUP BY dur
),
week_ends AS (
    SELECT t AT TIME ZONE 'UTC' AS t
    FROM (SELECT min(created_at) AS first FROM c) f CROSS JOIN bounds b,
         generate_series(date_trunc('week', f.first AT TIME ZONE 'UTC') + interval '7 days',
                         b.as_of AT TIME ZONE 'UTC', interval '7 days') AS t
),
backlog AS (
    SELECT w.t, count(c.id) AS n FROM week_ends w
    LEFT JOIN c ON c.created_at < w.t AND (c.status = 'pending' OR (c.consistent AND c.reviewed_at >= w.t))
    GROUP BY w.t
),
reviewers AS (
    SELECT c.reviewed_by::text AS reviewed_by, count(*) AS n_reviewed,
           count(*) FILTER (WHERE c.status = 'approved') AS n_approved,
           count(*) FILTER (WHERE c.status = 'rejected') AS n_rejected,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY dur) AS median,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY dur) AS p90,
           coalesce(bool_or(u.role::text = 'admin'), false) AS is_admin
    FROM c LEFT JOIN users u ON u.id = c.reviewed_by
    WHERE observed AND c.reviewed_by IS NOT NULL GROUP BY c.reviewed_by
),
roles AS (SELECT id, role::text AS role FROM users),
bad AS (
    SELECT c.*, 'reviewed_without_reviewed_at' AS problem FROM c WHERE decided AND reviewed_at IS NULL
    UNION ALL SELECT c.*, 'reviewed_before_created' FROM c WHERE reviewed_at < created_at
    UNION ALL SELECT c.*, 'missing_reviewer' FROM c WHERE decided AND reviewed_by IS NULL
    UNION ALL SELECT c.*, 'reviewer_not_admin' FROM c LEFT JOIN roles r ON r.id = c.reviewed_by
              WHERE c.reviewed_by IS NOT NULL AND r.role IS DISTINCT FROM 'admin'
)
SELECT b.as_of,
       (SELECT percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY dur) FROM c WHERE observed) AS pct,
       (SELECT json_agg(j ORDER BY status) FROM counts j) AS counts,
       (SELECT json_agg(j ORDER BY d) FROM life j) AS life,
       (SELECT json_agg(j ORDER BY t) FROM backlog j) AS backlog,
       (SELECT json_agg(j ORDER BY reviewed_by) FROM reviewers j) AS reviewers,
       (SELECT json_agg(j ORDER BY problem, id) FROM (SELECT id::text AS id, status, created_at, reviewed_at,
               reviewed_by::text AS reviewed_by, problem FROM bad) j) AS bad
FROM bounds b
"""


def _from_sql(engine, as_of) -> _Pieces:
    """The pieces from one statement (SQL)."""
    head, parts = _source.one_row(engine, SQL, {"as_of": _source.as_of_param(as_of)}, _PARTS)
    counts, life, backlog = parts["counts"], parts["life"], parts["backlog"]
    return _Pieces(
        as_of=_source.as_of_from(None, head["as_of"]),
        counts=pd.Series(counts["n"].to_numpy(np.int64), index=counts["status"].to_numpy(object)),
        pct=[np.nan] * 3 if head["pct"] is None else [float(x) for x in head["pct"]],
        life=life.astype({"d": float, "observed": np.int64, "censored": np.int64}),
        backlog=pd.Series(backlog["n"].to_numpy(np.int64), index=_source.utc_index(backlog["t"]), name="pending"),
        reviewers=parts["reviewers"].astype({"median": float, "p90": float}),
        bad=parts["bad"],
    )


# ---- in pandas -------------------------------------------------------------------------------------------
def _micro_seconds(delta: pd.Series) -> np.ndarray:
    """Timedeltas as float seconds computed from exact microseconds (matches PostgreSQL's epoch arithmetic)."""
    us = delta.to_numpy(dtype="timedelta64[ns]").astype(np.int64) // 1000
    return us / 1e6


def _classified(ks: pd.DataFrame, as_of) -> tuple[pd.Timestamp, pd.DataFrame]:
    """(as_of, the rows created by then with decided/consistent/observed/censored flags and latency in seconds)."""
    created = _source.utc(ks["created_at"]).reset_index(drop=True)
    reviewed = _source.utc(ks["reviewed_at"]).reset_index(drop=True)
    as_of = _source.as_of_from(as_of, pd.concat([created, reviewed]).max())
    rows = pd.DataFrame(
        {
            "id": ks["id"].astype(object).to_numpy(),
            "status": ks["status"].astype(object).to_numpy(),
            "created_at": created,
            "reviewed_at": reviewed,
            "reviewed_by": ks["reviewed_by"].astype(object).to_numpy(),
        }
    )
    rows = rows[(rows["created_at"] <= as_of).to_numpy()].reset_index(drop=True)
    rows["decided"] = rows["status"].isin(["approved", "rejected"]).to_numpy()
    later = (rows["reviewed_at"] > as_of).fillna(False).to_numpy()
    rows["consistent"] = (
        rows["decided"].to_numpy()
        & rows["reviewed_at"].notna().to_numpy()
        & (rows["reviewed_at"] >= rows["created_at"]).fillna(False).to_numpy()
    )
    rows["observed"] = rows["consistent"].to_numpy() & ~later
    rows["censored"] = (rows["status"] == "pending").to_numpy() | (rows["consistent"].to_numpy() & later)
    rows["eff_status"] = rows["status"].where(~(rows["consistent"].to_numpy() & later), "pending")
    latency = np.full(len(rows), np.nan)
    obs = rows["observed"].to_numpy(bool)
    latency[obs] = _micro_seconds(rows["reviewed_at"][obs] - rows["created_at"][obs])
    rows["latency"] = latency
    return as_of, rows


def _life(rows: pd.DataFrame, as_of) -> pd.DataFrame:
    """d (seconds), observed, censored: observed latencies and censored waits, grouped by duration."""
    obs, cen = rows["observed"].to_numpy(bool), rows["censored"].to_numpy(bool)
    durations = np.concatenate([rows["latency"].to_numpy()[obs], _micro_seconds(as_of - rows["created_at"][cen])])
    flags = np.concatenate([np.ones(obs.sum(), bool), np.zeros(cen.sum(), bool)])
    life = pd.DataFrame({"d": durations, "observed": flags.astype(np.int64), "censored": (~flags).astype(np.int64)})
    return life.groupby("d", sort=True)[["observed", "censored"]].sum().reset_index()


def _backlog(rows: pd.DataFrame, as_of) -> pd.Series:
    """At each week end, the rows created before it that were pending then."""
    ends = _source.week_ends(rows["created_at"].min(), as_of)
    created = rows["created_at"].to_numpy(dtype="datetime64[ns]")
    reviewed = rows["reviewed_at"].to_numpy(dtype="datetime64[ns]")
    pending, consistent = (rows["status"] == "pending").to_numpy(), rows["consistent"].to_numpy(bool)
    counts = [
        int(np.sum((created < t) & (pending | (consistent & (reviewed >= t)))))
        for t in ends.tz_convert(None).to_numpy()
    ]  # one vectorized pass per week end, not per row
    return pd.Series(counts, index=ends, dtype=np.int64, name="pending")


def _reviewers(rows: pd.DataFrame, roles: pd.Series) -> pd.DataFrame:
    """Per reviewer of observed rows: counts, median and p90 latency in seconds, whether an admin."""
    obs = rows[rows["observed"].to_numpy(bool) & rows["reviewed_by"].notna().to_numpy()]
    if not len(obs):
        return pd.DataFrame(columns=_REVIEWER_COLUMNS).assign(is_admin=pd.Series(dtype=bool))
    g = obs.groupby("reviewed_by", sort=True)
    rev = pd.DataFrame(
        {
            "n_reviewed": g.size(),
            "n_approved": g["status"].agg(lambda s: int((s == "approved").sum())),
            "n_rejected": g["status"].agg(lambda s: int((s == "rejected").sum())),
            "median": g["latency"].quantile(0.5),
            "p90": g["latency"].quantile(0.9),
        }
    ).reset_index()
    rev["is_admin"] = rev["reviewed_by"].map(roles).eq("admin").to_numpy(dtype=bool)
    return rev


def _inconsistent(rows: pd.DataFrame, roles: pd.Series) -> pd.DataFrame:
    """One row per (submission, problem)."""
    decided, has_rev, reviewer = (
        rows["decided"].to_numpy(bool),
        rows["reviewed_at"].notna().to_numpy(),
        rows["reviewed_by"],
    )
    problems = {
        PROBLEMS[0]: decided & ~has_rev,
        PROBLEMS[1]: has_rev & (rows["reviewed_at"] < rows["created_at"]).fillna(False).to_numpy(),
        PROBLEMS[2]: decided & reviewer.isna().to_numpy(),
        PROBLEMS[3]: reviewer.notna().to_numpy() & ~reviewer.map(roles).eq("admin").to_numpy(dtype=bool),
    }
    return pd.concat(
        [rows.loc[mask, _ROW_COLUMNS].assign(problem=name) for name, mask in problems.items()], ignore_index=True
    )


def _from_frames(frames, as_of) -> _Pieces:
    """The pieces from loaded frames (pandas)."""
    as_of, rows = _classified(frames["knowledge_submissions"], as_of)
    users = frames["users"]
    roles = pd.Series(users["role"].astype(object).to_numpy(), index=users["id"].astype(object).to_numpy())
    latency = rows["latency"].to_numpy()[rows["observed"].to_numpy(bool)]
    return _Pieces(
        as_of=as_of,
        counts=rows["eff_status"].value_counts(),
        pct=np.quantile(latency, [0.5, 0.9, 0.99]) if len(latency) else [np.nan] * 3,
        life=_life(rows, as_of),
        backlog=_backlog(rows, as_of),
        reviewers=_reviewers(rows, roles),
        bad=_inconsistent(rows, roles),
    )


# ---- the assembly of the result --------------------------------------------------------------------------
def _timedeltas(seconds) -> pd.TimedeltaIndex:
    return pd.to_timedelta([_source.seconds_to_timedelta(x) for x in seconds]).as_unit("ns")


def _by_reviewer(rev: pd.DataFrame) -> pd.DataFrame:
    rev = rev.assign(
        n_reviewed=rev["n_reviewed"].astype(np.int64),
        n_approved=rev["n_approved"].astype(np.int64),
        n_rejected=rev["n_rejected"].astype(np.int64),
        median_latency=_timedeltas(rev["median"]),
        p90_latency=_timedeltas(rev["p90"]),
        is_admin=rev["is_admin"].astype(bool),
        reviewed_by=rev["reviewed_by"].astype("str"),
    )
    rev = rev.sort_values(["n_reviewed", "reviewed_by"], ascending=[False, True], kind="stable")
    return rev.set_index("reviewed_by")[
        ["n_reviewed", "n_approved", "n_rejected", "median_latency", "p90_latency", "is_admin"]
    ]


def _bad_rows(bad: pd.DataFrame) -> pd.DataFrame:
    bad = bad.assign(
        id=bad["id"].astype("str"),
        status=bad["status"].astype("str"),
        reviewed_by=bad["reviewed_by"].astype("str"),
        created_at=_source.utc(bad["created_at"]).to_numpy(),
        reviewed_at=_source.utc(bad["reviewed_at"]).to_numpy(),
        problem=pd.Categorical(bad["problem"], categories=list(PROBLEMS)),
    )
    return bad.sort_values(["problem", "id"], kind="stable").reset_index(drop=True)


def _assemble(p: _Pieces) -> ModerationLatency:
    """The report from the path-independent pieces, with the shared dtypes and orderings."""
    counts = p.counts.astype(np.int64)
    order = list(_KNOWN) + sorted(s for s in counts.index if s not in _KNOWN)
    by_status = counts.reindex(order, fill_value=0).astype(np.int64).rename("count").rename_axis("status")
    percentiles = pd.Series(
        [_source.seconds_to_timedelta(x) for x in p.pct],
        index=["p50", "p90", "p99"],
        name="latency",
        dtype="timedelta64[ns]",
    )
    life = p.life.sort_values("d").reset_index(drop=True)
    life_table = pd.DataFrame(
        {
            "observed": life["observed"].astype(np.int64).to_numpy(),
            "censored": life["censored"].astype(np.int64).to_numpy(),
        },
        index=pd.TimedeltaIndex(_timedeltas(life["d"]), name="duration"),
    )
    km_median, km_curve = kaplan_meier_median(
        life["d"].to_numpy(float), life["observed"].to_numpy(np.int64), life["censored"].to_numpy(np.int64)
    )
    backlog = p.backlog.rename_axis("week_end")
    return ModerationLatency(
        p.as_of,
        by_status,
        percentiles,
        km_median,
        backlog,
        _by_reviewer(p.reviewers),
        _bad_rows(p.bad),
        life_table,
        km_curve,
    )


# ---- registration ----------------------------------------------------------------------------------------
METRICS = (Metric("moderation_latency", moderation_latency, NEEDS, takes_as_of=True),)
