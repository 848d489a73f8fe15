"""The knowledge base: contributors' submissions and their review, documents, embedded chunks, ingestion jobs."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from . import documents
from .common import DAY, HOUR, MINUTE, Ctx, Table, esc, exp, pick, stable, ts, ts_or_null, uuids, weekday, words
from .state import CONTRIBUTOR, Citable, People, Submissions

_RESOURCE = ("text", "url", "pdf", "repo")
_RESOURCE_W = (0.35, 0.35, 0.2, 0.1)
_COLUMNS = (
    "id",
    "contributor_id",
    "title",
    "content",
    "resource_type",
    "metadata",
    "status",
    "admin_feedback",
    "reviewed_by",
    "reviewed_at",
    "created_at",
    "updated_at",
)
_APPROVED_FEEDBACK = ("Thanks, approved.", "Great resource, added to the knowledge base.", "Approved with minor edits.")


@dataclass
class _Resources:
    """The submissions' texts, one item per submission (COPY-escaped except `raw_titles`)."""

    raw_titles: list[str]
    titles: list[str]
    contents: list[str]
    metadata: list[str]


def _paragraph(rng: np.random.Generator, topic_i: int, n_sent: int) -> str:
    topics, sents = words("topics"), words("answer_sentences")
    other = topics[int(rng.integers(0, len(topics)))]
    chosen = rng.integers(0, len(sents), n_sent)
    return " ".join(sents[i].format(topic=topics[topic_i], topic2=other) for i in chosen)


def _submitted(ctx: Ctx, people: People, contributors: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Who submitted each resource and when, by time: heavy-tailed (a few contributors submit most resources),
    while they are active; with `submissions.by_contributor_time`, in proportion to that time too."""
    rng = ctx.rng
    w = rng.pareto(1.2, len(contributors)) + 0.05
    if "submissions.per_period" in ctx.profile and n:
        return _submitted_by_period(ctx, people, contributors, n, w)
    if ctx.profile.get("submissions.by_contributor_time", False) and len(contributors):
        w = w * (_window(ctx, people, contributors) - people.promoted[contributors]) / DAY
    who = contributors[pick(rng, contributors, n, w)] if n else np.zeros(0, np.int64)
    lo = people.promoted[who]
    hi = _window(ctx, people, who)
    # Never after as_of (a promotion in its last hour had its submissions up to an hour after it).
    created = np.minimum(lo + (rng.random(n) * (hi - lo)).astype(np.int64), np.maximum(lo, ctx.as_of - MINUTE))
    order = np.argsort(created, kind="stable")
    return who[order], created[order]


def _submitted_by_period(ctx: Ctx, people: People, contributors, n: int, w: np.ndarray):
    """As _submitted, each submission's slice of the history drawn from `submissions.per_period` first, then its
    contributor among those who could submit then (weighed by their rate × their time as contributors in it)."""
    rng = ctx.rng
    per = np.asarray(ctx.p("submissions.per_period"), dtype=float)
    edges = ctx.start + (np.arange(len(per) + 1) * ((ctx.as_of - ctx.start) / len(per))).astype(np.int64)
    period = rng.choice(len(per), size=n, p=per / per.sum())
    at = edges[period] + (rng.random(n) * (edges[period + 1] - edges[period])).astype(np.int64)
    lo, hi = people.promoted[contributors], _window(ctx, people, contributors)
    u = rng.random(n)
    who = np.zeros(n, np.int64)
    for k in np.unique(period).tolist():
        on = np.flatnonzero(period == k)
        overlap = np.maximum(np.minimum(hi, edges[k + 1]) - np.maximum(lo, edges[k]), 0).astype(float)
        cw = np.cumsum(w * overlap if overlap.any() else w)
        who[on] = np.minimum(np.searchsorted(cw, u[on] * cw[-1], side="right"), len(cw) - 1)
    who = contributors[who]
    created = np.clip(at, people.promoted[who], np.maximum(people.promoted[who], _window(ctx, people, who)))
    created = np.minimum(created, np.maximum(people.promoted[who], ctx.as_of - MINUTE))
    order = np.argsort(created, kind="stable")
    return who[order], created[order]


def _window(ctx: Ctx, people: People, who: np.ndarray) -> np.ndarray:
    """The end of each contributor's submitting time: two weeks after their last sign-in, an hour before as_of
    (at least an hour after their promotion)."""
    lo = people.promoted[who]
    return np.maximum(lo + HOUR, np.minimum(people.last[who] + 14 * DAY, ctx.as_of - HOUR))


def _outcomes(ctx: Ctx, reviewed: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    """Each submission's status (pending until reviewed, then rejected or approved), whether it is pending, and
    the admin's feedback (COPY-escaped; always on a rejection, sometimes on an approval)."""
    rng, n = ctx.rng, len(reviewed)
    pending = reviewed > ctx.as_of
    rejected = ~pending & (rng.random(n) < ctx.p("submissions.rejected_share"))
    status = np.where(pending, "pending", np.where(rejected, "rejected", "approved"))
    rejection_texts = words("rejection_feedback")
    text_i = rng.integers(0, len(rejection_texts), n)
    approval_noted = (~pending & ~rejected) & (rng.random(n) < ctx.p("submissions.approved_feedback_share"))
    feedback = [
        esc(rejection_texts[text_i[i]])
        if rejected[i]
        else (_APPROVED_FEEDBACK[text_i[i] % 3] if approval_noted[i] else None)
        for i in range(n)
    ]
    return status, pending, feedback


def _resources(ctx: Ctx, resource_type: np.ndarray, topic: np.ndarray, title_k: np.ndarray) -> _Resources:
    """Each submission's title, content (a URL, or paragraphs of its topic) and metadata (tags, source URL)."""
    rng, topics = ctx.rng, words("topics")
    out = _Resources([], [], [], [])
    for i in range(len(topic)):
        t = documents.title(topics[topic[i]], int(title_k[i]))
        out.raw_titles.append(t)
        slug = documents.slug(t)
        kind = _RESOURCE[resource_type[i]]
        url = {
            "url": f"https://docs.example.org/{slug}",
            "repo": f"https://git.example.com/opentier-community/{slug}",
            "pdf": f"https://files.example.net/{slug}.pdf",
        }.get(kind)
        out.titles.append(esc(t))
        out.contents.append(url if kind == "url" else esc(_paragraph(rng, int(topic[i]), 3 + int(rng.integers(0, 5)))))
        meta: dict[str, object] = {"tags": documents.slug(topics[topic[i]]).split("-")[:3]}
        if url:
            meta["source_url"] = url
        out.metadata.append(esc(json.dumps(meta)))
    return out


def _submissions(ctx: Ctx, people: People) -> tuple[Table, Submissions]:
    rng = ctx.rng
    contributors = np.flatnonzero(people.role == CONTRIBUTOR)
    admins = np.flatnonzero(people.admin)
    n = ctx.p("submissions.count") if len(contributors) and len(admins) else 0
    who, created = _submitted(ctx, people, contributors, n)
    if "submissions.reviewers" in ctx.profile and n:
        reviewer_i, reviewed = _empirical_reviews(ctx, len(admins), created)
    else:
        reviewer_i, reviewed = _parametric_reviews(ctx, admins, created)
    reviewer = admins[reviewer_i] if n else np.zeros(0, np.int64)
    status, pending, feedback = _outcomes(ctx, reviewed)
    resource_type = pick(rng, _RESOURCE, n, _RESOURCE_W)
    topic = rng.integers(0, len(words("topics")), n)
    title_k = rng.integers(0, len(documents.TITLES), n)
    ids = uuids(rng, n)
    text = _resources(ctx, resource_type, topic, title_k)
    subs = Submissions(ids, who, created, reviewed, status, reviewer, topic, resource_type, text.raw_titles)
    table = Table(
        "knowledge_submissions",
        list(_COLUMNS),
        [
            ids.tolist(),
            people.ids[who].tolist(),
            text.titles,
            text.contents,
            [_RESOURCE[r] for r in resource_type],
            text.metadata,
            status.tolist(),
            feedback,
            [None if p else u for p, u in zip(pending, people.ids[reviewer].tolist())],
            ts_or_null(reviewed, ~pending),
            ts(created),
            ts(np.where(pending, created, reviewed)),
        ],
    )
    return table, subs


def _parametric_reviews(ctx: Ctx, admins: np.ndarray, created: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reviewer (index into admins) and review time per submission: per-admin volume and speed, one slow
    reviewer, weekends wait for Monday, a review freeze."""
    rng, n = ctx.rng, len(created)
    slow = len(admins) - 1
    vol = np.linspace(3.0, 1.0, len(admins))
    reviewer_i = pick(rng, admins, n, vol)
    med = ctx.p("submissions.median_review_hours") * HOUR
    latency = med * exp(ctx.p("submissions.review_sigma") * rng.standard_normal(n))
    latency = np.where(reviewer_i == slow, latency * ctx.p("submissions.slow_reviewer_factor"), latency).astype(
        np.int64
    )
    reviewed = created + latency
    wd = weekday(reviewed)
    wait = (wd >= 5) & (rng.random(n) < ctx.p("submissions.weekend_pause_share"))
    monday = (reviewed // DAY + (7 - wd)) * DAY + 8 * HOUR
    reviewed = np.where(wait, monday + rng.exponential(3 * HOUR, n).astype(np.int64), reviewed)
    b0 = ctx.as_of - int(ctx.p("submissions.backlog_start_days") * DAY)
    b1 = b0 + int(ctx.p("submissions.backlog_days") * DAY)
    frozen = (reviewed > b0) & (created < b1)
    k = int(frozen.sum())
    drain = int(ctx.p("submissions.backlog_drain_days") * DAY)
    queue_pos = (np.arange(k) + rng.random(k)) / max(k, 1)
    reviewed[frozen] = np.maximum(reviewed[frozen], b1 + (queue_pos * drain).astype(np.int64))
    return reviewer_i, reviewed


def _empirical_reviews(ctx: Ctx, n_admins: int, created: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reviewer rank (folded onto the admins) and review time per submission, from `submissions.reviewers`:
    each rank's share of reviews and its latency quantiles (interpolated in log-hours, drawn stratified)."""
    rng, n = ctx.rng, len(created)
    ranks = ctx.p("submissions.reviewers")
    share = np.array([r["share"] for r in ranks], dtype=float)
    rank = rng.choice(len(ranks), size=n, p=share / share.sum())
    hours = np.zeros(n)
    for k, r in enumerate(ranks):
        probs = np.array([p for p, _ in r["latency_hours"]])
        logh = np.log(np.maximum(np.array([h for _, h in r["latency_hours"]]), 1e-3))
        on = np.flatnonzero(rank == k)
        # Stratified: one draw in each 1/m slice of the rank's quantiles, so a few hundred reviews hold them exactly
        # (a fresh uniform draw moves a p90 of a heavy-tailed latency by ±10 % from seed to seed).
        u = (rng.permutation(len(on)) + rng.random(len(on))) / max(len(on), 1)
        hours[on] = stable(np.exp(np.interp(u, probs, logh)))
    return rank % max(n_admins, 1), created + (hours * HOUR).astype(np.int64)


def generate(ctx: Ctx, people: People) -> tuple[list[Table], Citable]:
    """Rows of knowledge_submissions, documents, document_chunks and ingestion_jobs, and the chunks answers cite."""
    table, subs = _submissions(ctx, people)
    docs, chunks, jobs, citable = documents.generate(ctx, people, subs)
    return [table, docs, chunks, jobs], citable
