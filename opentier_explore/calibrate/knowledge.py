"""Knowledge submissions and their review (reviewers ranked, never named), documents, chunks, ingestion jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .entries import SUPPRESSED, Entries
from .frame import Frame, capped, histogram, row, stat
from .people import periods
from .release import Stat, merge_small, quantiles, spread
from .snapshot import Schema

if TYPE_CHECKING:
    import psycopg

MAX_RANKS = 20
LAT_EDGES = np.linspace(np.log(0.01), np.log(20000.0), 121)  # ln(hours) cells of review latency
PROBS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98)
# Latencies from submissions at least a week old: few are still pending, and the recent (fast) reviews are not left
# out; 30 days over-weighted an old review freeze, the twin's p90 then came out 23 % slow on demo/42.
SETTLED_DAYS = 7

_SUBS = """
SELECT count(*), count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'rejected'),
       count(*) FILTER (WHERE status = 'approved'),
       count(*) FILTER (WHERE status = 'approved' AND coalesce(admin_feedback, '') <> '')
FROM {subs} s
"""
_RANKS = """
WITH r AS (SELECT reviewed_by, count(*) AS n FROM {subs} s WHERE reviewed_by IS NOT NULL AND reviewed_at IS NOT NULL
           AND status IN ('approved', 'rejected') GROUP BY reviewed_by)
SELECT row_number() OVER (ORDER BY n DESC, reviewed_by), n FROM r
"""
_LATENCY = """
WITH r AS (SELECT reviewed_by, row_number() OVER (ORDER BY count(*) DESC, reviewed_by) AS rk
           FROM {subs} s WHERE reviewed_by IS NOT NULL AND reviewed_at IS NOT NULL
           AND status IN ('approved', 'rejected') GROUP BY reviewed_by)
SELECT (%(group_of)s::int[])[least(r.rk, {max_ranks})] * {cells}
       + width_bucket(ln(greatest(extract(epoch FROM s.reviewed_at - s.created_at) / 3600.0, 0.01)), %(lo)s, %(hi)s, {cells}),
       count(*)
FROM {subs} s JOIN r USING (reviewed_by)
WHERE s.status IN ('approved', 'rejected') AND s.reviewed_at IS NOT NULL
  AND s.created_at < %(as_of)s - interval '{settled} days'
GROUP BY 1
"""
_PERIODS = """
SELECT width_bucket(extract(epoch FROM created_at), extract(epoch FROM %(start)s::timestamptz),
                    extract(epoch FROM %(as_of)s::timestamptz), %(periods)s), count(*)
FROM {subs} s GROUP BY 1
"""
_DOCS = """
SELECT count(*), count(*) FILTER (WHERE d.created_at < %(start)s::timestamptz + interval '3 days'),
       count(*) FILTER (WHERE d.is_global),
       (SELECT count(*) FROM document_chunks k JOIN {docs} d2 ON d2.id = k.document_id),
       (SELECT count(*) FROM document_chunks k JOIN {docs} d2 ON d2.id = k.document_id WHERE k.embedding IS NULL)
FROM {docs} d
"""
_JOBS = """
SELECT count(*) FILTER (WHERE status IN ('completed', 'partial', 'failed')), count(*) FILTER (WHERE status = 'failed'),
       count(*) FILTER (WHERE status = 'partial'), count(*) FILTER (WHERE status IN ('running', 'processing')),
       count(*) FILTER (WHERE status = 'queued')
FROM {jobs} j
"""


def _subs(frame: Frame) -> str:
    return capped("knowledge_submissions", "contributor_id", frame.cap)


def measure(conn: psycopg.Connection, schema: Schema, frame: Frame) -> dict[str, Stat]:
    """Submission, review, document and job statistics (rows bounded per owner when noise is added)."""
    p = frame.params()
    cap = frame.cap or 1
    out: dict[str, Stat] = {}
    if schema.has("knowledge_submissions", "reviewed_by", "reviewed_at", "status"):
        subs = _subs(frame)
        out["subs.counts"] = stat(row(conn, _SUBS.format(subs=subs), p), 3 * cap)
        out["subs.ranks"] = stat(histogram(conn, _RANKS.format(subs=subs), p, 10_000), cap)
        k = periods(frame)
        out["subs.periods"] = stat(histogram(conn, _PERIODS.format(subs=subs), frame.params(periods=k), k), cap)
    if schema.has("documents", "is_global") and schema.has("document_chunks", "embedding"):
        out["docs.counts"] = stat(row(conn, _DOCS.format(docs=capped("documents", "user_id", frame.cap)), p), 5 * cap)
    if schema.has("ingestion_jobs", "status"):
        jobs = capped("ingestion_jobs", "user_id", frame.cap, order="started_at")
        out["jobs.counts"] = stat(row(conn, _JOBS.format(jobs=jobs), p), 2 * cap)
    return out


def measure_latency(conn: psycopg.Connection, frame: Frame, groups: list[tuple[int, int, float]]) -> Stat:
    """Latency histograms per reviewer group (ranks merged so every group holds ≥ K reviews), concatenated."""
    group_of = [0] * MAX_RANKS
    for g, (a, b, _) in enumerate(groups):
        for r in range(a, min(b, MAX_RANKS - 1) + 1):
            group_of[r] = g
    for r in range(groups[-1][1] + 1, MAX_RANKS):
        group_of[r] = len(groups) - 1
    cells = len(LAT_EDGES) - 1
    sql = _LATENCY.format(subs=_subs(frame), max_ranks=MAX_RANKS, cells=cells, settled=SETTLED_DAYS)
    p = frame.params(group_of=group_of, lo=float(LAT_EDGES[0]), hi=float(LAT_EDGES[-1]))
    flat = histogram(conn, sql, p, len(groups) * cells + cells)  # cell index = group * cells + 1..cells
    return stat(flat[: len(groups) * cells], frame.cap or 1)


def rank_groups(out: Entries) -> list[tuple[int, int, float]]:
    """Reviewer ranks (by volume, at most MAX_RANKS) merged so each group holds at least K reviews."""
    ranks = out.rel.vector("subs.ranks")
    ranks = np.concatenate([ranks[: MAX_RANKS - 1], [ranks[MAX_RANKS - 1 :].sum()]])
    return merge_small(ranks[: int(np.flatnonzero(ranks).max()) + 1] if ranks.any() else ranks, out.rel.min_count)


def _reviewers(out: Entries, groups, latency: np.ndarray) -> None:
    cells = len(LAT_EDGES) - 1
    hours = np.exp(LAT_EDGES)
    entries, medians = [], []
    total = latency.reshape(len(groups), cells)
    for g, (_a, _b, n) in enumerate(groups):
        h = spread(total[g], 1)
        if h is None or not out.rel.enough(total[g].sum()):
            continue
        q = quantiles(h, hours, list(PROBS))
        entries.append(
            {
                "share": round(n / sum(t for *_, t in groups), 4),
                "latency_hours": [[p, round(v, 3)] for p, v in zip(PROBS, q)],
            }
        )
        medians.append(q[PROBS.index(0.5)])
    if not entries:
        out.fallback("submissions.median_review_hours", "suppressed", "suppressed: fewer than K settled reviews")
        return
    out.put(
        "submissions.reviewers",
        entries,
        f"per reviewer rank (by volume; ranks below K reviews merged): share of "
        f"reviews and latency quantiles of submissions ≥ {SETTLED_DAYS} days old",
    )
    allq = quantiles(total.sum(axis=0), hours, [0.5, 0.9])
    out.number("submissions.median_review_hours", allq[0], "median latency of settled reviews", low=0.0)
    out.number(
        "submissions.review_sigma",
        np.log(allq[1] / allq[0]) / 1.2816 if allq[0] > 0 else None,
        "ln(p90 / median) of settled reviews ÷ 1.28",
        low=0.0,
        high=5.0,
    )
    out.number(
        "submissions.slow_reviewer_factor",
        max(medians) / allq[0] if allq[0] > 0 else None,
        "the slowest reviewer group's median ÷ the overall median",
        low=1.0,
    )


def estimate(out: Entries, latency: np.ndarray | None, groups) -> None:
    """Profile keys of [submissions], [documents] and [ingestion_jobs]."""
    rel = out.rel
    sub_keys = (
        "submissions.count",
        "submissions.rejected_share",
        "submissions.approved_feedback_share",
        "submissions.median_review_hours",
        "submissions.review_sigma",
        "submissions.slow_reviewer_factor",
    )
    for key in (
        "submissions.weekend_pause_share",
        "submissions.backlog_start_days",
        "submissions.backlog_days",
        "submissions.backlog_drain_days",
    ):
        out.fallback(
            key, "unused", "not used when submissions.reviewers is given (its quantiles hold weekends and freezes)"
        )
    # Generator noise, not data: a heavy submitter promoted hours before as_of would leave hundreds pending.
    out.put(
        "submissions.by_contributor_time",
        True,
        "each contributor's share of submissions weighed by their time as a contributor",
    )
    approved = 0.0
    if not rel.has("subs.counts"):
        out.missing(sub_keys, "no knowledge_submissions table in this generation")
        for key in (
            "submissions.weekend_pause_share",
            "submissions.backlog_start_days",
            "submissions.backlog_days",
            "submissions.backlog_drain_days",
        ):
            out.fallback(key, "missing", "no knowledge_submissions table in this generation")
    else:
        n, _pending, rejected, approved, feedback = rel.vector("subs.counts").tolist()
        out.count("submissions.count", n, "count of knowledge_submissions")
        out.share("submissions.rejected_share", rejected, rejected + approved, "reviewed submissions rejected")
        out.share("submissions.approved_feedback_share", feedback, approved, "approved submissions with feedback")
        _periods(out)
        if latency is None:
            out.fallback("submissions.median_review_hours", "suppressed", "suppressed: fewer than K reviews")
        else:
            _reviewers(out, groups, latency)
    _documents(out, approved)


def _periods(out: Entries) -> None:
    """When the submissions came: a source's burst (a heavy submitter's weeks) decides how many are still pending."""
    per = spread(out.rel.vector("subs.periods"), out.rel.min_count) if out.rel.has("subs.periods") else None
    if per is None:
        out.fallback("submissions.per_period", SUPPRESSED, "suppressed: fewer than K submissions")
        return
    out.put(
        "submissions.per_period",
        [int(round(v)) for v in per],
        f"knowledge_submissions per 1/{len(per)} of the history (cells below K merged with neighbours)",
    )


def _documents(out: Entries, approved: float) -> None:
    rel = out.rel
    if rel.has("docs.counts"):
        docs, initial, is_global, chunks, no_emb = rel.vector("docs.counts").tolist()
        base = max(docs - approved, 0.0)  # the generator adds one document per approved submission
        out.count("documents.count", base, "documents, less one per approved submission")
        out.share("documents.initial_share", initial, base, "documents created in the history's first 3 days")
        out.number(
            "documents.mean_chunks",
            chunks / docs if rel.enough(docs, chunks) else None,
            "document_chunks per document",
            low=1.0,
        )
        out.share("documents.null_embedding_share", no_emb, chunks, "chunks without an embedding")
        out.share("documents.global_share", is_global, docs, "documents with is_global")
    else:
        out.missing(
            (
                "documents.count",
                "documents.initial_share",
                "documents.mean_chunks",
                "documents.null_embedding_share",
                "documents.global_share",
            ),
            "no documents/document_chunks tables",
        )
    out.fallback("documents.topics", "missing", "embedding clusters are not estimated")
    if rel.has("jobs.counts"):
        done, failed, partial, processing, queued = rel.vector("jobs.counts").tolist()
        out.share("ingestion_jobs.failed_share", failed, done, "finished jobs that failed")
        # Small live counts (a handful of jobs) fall back to the demo's when below K, like every count.
        out.count("ingestion_jobs.partial", partial, "jobs with status 'partial'")
        out.count("ingestion_jobs.processing", processing, "jobs running or processing")
        out.count("ingestion_jobs.queued", queued, "queued jobs")
    else:
        out.missing(
            (
                "ingestion_jobs.failed_share",
                "ingestion_jobs.partial",
                "ingestion_jobs.processing",
                "ingestion_jobs.queued",
            ),
            "no ingestion_jobs table",
        )
