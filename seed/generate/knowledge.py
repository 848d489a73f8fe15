"""The knowledge base: contributors' submissions and their review, documents, embedded chunks, ingestion jobs."""

from __future__ import annotations

import json
import struct

import numpy as np

from .common import DAY, HOUR, MINUTE, Ctx, Table, esc, exp, ints, pick, stable, ts, ts_or_null, uuids, weekday, words

_RESOURCE = ("text", "url", "pdf", "repo")
_RESOURCE_W = (0.35, 0.35, 0.2, 0.1)
_TITLE = ("A practical guide to {t}", "{t} cheat sheet", "Notes on {t}", "{t}: common pitfalls",
          "Understanding {t}", "{t} in production", "Getting started with {t}", "{t} FAQ")
_APPROVED_FEEDBACK = ("Thanks, approved.", "Great resource, added to the knowledge base.", "Approved with minor edits.")
_DOC_TYPE = {"text": "text", "url": "html", "pdf": "pdf", "repo": "markdown"}
_UPLOAD_TYPES = ("pdf", "markdown", "html", "text")
_UPLOAD_W = (0.4, 0.3, 0.2, 0.1)
_JOB_ERRORS = ("PDF parsing failed: encrypted file", "Timeout fetching URL", "Unsupported file type",
               "Embedding service unavailable", "Document exceeds size limit")
_DIM = 384
_K = 24  # paragraph variants per topic


def _slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def _title(topic: str, k: int) -> str:
    return _TITLE[k % len(_TITLE)].format(t=topic[0].upper() + topic[1:])


def _paragraph(rng: np.random.Generator, topic_i: int, n_sent: int) -> str:
    topics, sents = words("topics"), words("answer_sentences")
    other = topics[int(rng.integers(0, len(topics)))]
    chosen = rng.integers(0, len(sents), n_sent)
    return " ".join(sents[i].format(topic=topics[topic_i], topic2=other) for i in chosen)


def _submissions(ctx: Ctx) -> Table:
    rng, st = ctx.rng, ctx.state
    contributors = np.flatnonzero(st["role"] == 1)
    admins = np.flatnonzero(st["admin"])
    n = ctx.p("submissions.count") if len(contributors) and len(admins) else 0
    topics = words("topics")
    # Heavy-tailed: a few contributors submit most resources, while they are active.
    w = rng.pareto(1.2, len(contributors)) + 0.05
    who = contributors[pick(rng, contributors, n, w)] if n else np.zeros(0, np.int64)
    lo = st["promoted"][who]
    hi = np.maximum(lo + HOUR, np.minimum(st["last"][who] + 14 * DAY, ctx.as_of - HOUR))
    created = lo + (rng.random(n) * (hi - lo)).astype(np.int64)
    order = np.argsort(created, kind="stable")
    who, created = who[order], created[order]
    if "submissions.reviewers" in ctx.profile and n:
        reviewer_i, reviewed = _empirical_reviews(ctx, len(admins), created)
    else:
        reviewer_i, reviewed = _parametric_reviews(ctx, admins, created)
    reviewer = admins[reviewer_i] if n else np.zeros(0, np.int64)
    pending = reviewed > ctx.as_of
    rejected = ~pending & (rng.random(n) < ctx.p("submissions.rejected_share"))
    status = np.where(pending, "pending", np.where(rejected, "rejected", "approved"))
    fb_rej = words("rejection_feedback")
    fb_i = rng.integers(0, len(fb_rej), n)
    fb_ok = (~pending & ~rejected) & (rng.random(n) < ctx.p("submissions.approved_feedback_share"))
    feedback = [esc(fb_rej[fb_i[i]]) if rejected[i] else (_APPROVED_FEEDBACK[fb_i[i] % 3] if fb_ok[i] else None)
                for i in range(n)]
    rtype = pick(rng, _RESOURCE, n, _RESOURCE_W)
    topic = rng.integers(0, len(topics), n)
    title_k = rng.integers(0, len(_TITLE), n)
    ids = uuids(rng, n)
    titles, contents, metas = [], [], []
    for i in range(n):
        t = _title(topics[topic[i]], int(title_k[i]))
        slug = _slug(t)
        kind = _RESOURCE[rtype[i]]
        url = {"url": f"https://docs.example.org/{slug}", "repo": f"https://git.example.com/opentier-community/{slug}",
               "pdf": f"https://files.example.net/{slug}.pdf"}.get(kind)
        titles.append(esc(t))
        contents.append(url if kind == "url" else esc(_paragraph(rng, int(topic[i]), 3 + int(rng.integers(0, 5)))))
        meta: dict[str, object] = {"tags": _slug(topics[topic[i]]).split("-")[:3]}
        if url:
            meta["source_url"] = url
        metas.append(esc(json.dumps(meta)))
    rev = np.where(pending, created, reviewed)
    st.update(sub_ids=ids, sub_created=created, sub_reviewed=reviewed, sub_status=status, sub_who=who,
              sub_topic=topic, sub_titles=titles, sub_type=rtype)
    return Table("knowledge_submissions", ["id", "contributor_id", "title", "content", "resource_type", "metadata",
                                           "status", "admin_feedback", "reviewed_by", "reviewed_at", "created_at",
                                           "updated_at"], [
        ids.tolist(), st["user_ids"][who].tolist(), titles, contents, [_RESOURCE[r] for r in rtype], metas,
        status.tolist(), feedback, [None if p else u for p, u in zip(pending, st["user_ids"][reviewer].tolist())],
        ts_or_null(reviewed, ~pending), ts(created), ts(rev),
    ])


def _parametric_reviews(ctx: Ctx, admins: np.ndarray, created: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reviewer (index into admins) and review time per submission: per-admin volume and speed, one slow
    reviewer, weekends wait for Monday, a review freeze."""
    rng, n = ctx.rng, len(created)
    slow = len(admins) - 1
    vol = np.linspace(3.0, 1.0, len(admins))
    reviewer_i = pick(rng, admins, n, vol)
    med = ctx.p("submissions.median_review_hours") * HOUR
    latency = med * exp(ctx.p("submissions.review_sigma") * rng.standard_normal(n))
    latency = np.where(reviewer_i == slow, latency * ctx.p("submissions.slow_reviewer_factor"), latency).astype(np.int64)
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
    each rank's share of reviews and its latency quantiles (interpolated in log-hours)."""
    rng, n = ctx.rng, len(created)
    ranks = ctx.p("submissions.reviewers")
    share = np.array([r["share"] for r in ranks], dtype=float)
    rank = rng.choice(len(ranks), size=n, p=share / share.sum())
    u = rng.random(n)
    hours = np.zeros(n)
    for k, r in enumerate(ranks):
        probs = np.array([p for p, _ in r["latency_hours"]])
        logh = np.log(np.maximum(np.array([h for _, h in r["latency_hours"]]), 1e-3))
        on = rank == k
        hours[on] = stable(np.exp(np.interp(u[on], probs, logh)))
    return rank % max(n_admins, 1), created + (hours * HOUR).astype(np.int64)


def _documents(ctx: Ctx) -> tuple[Table, Table]:
    rng, st = ctx.rng, ctx.state
    topics = words("topics")
    admins = np.flatnonzero(st["admin"])
    n_base = ctx.p("documents.count") if len(admins) else 0
    n_init = int(round(ctx.p("documents.initial_share") * n_base))
    n_up = n_base - n_init
    # Launch corpus (admins), then uploads during sessions, then approved submissions turned into documents.
    s_owner, s_created = st["session_owner"], st["session_created"]
    sess = rng.integers(0, len(s_owner), n_up) if len(s_owner) else np.zeros(0, np.int64)
    up_global = rng.random(n_up) < ctx.p("documents.global_share")
    up_owner = np.where(up_global, admins[rng.integers(0, len(admins), n_up)] if len(admins) else 0, s_owner[sess])
    approved = np.flatnonzero(st["sub_status"] == "approved")
    owner_txt = np.concatenate([
        st["user_ids"][admins[rng.integers(0, len(admins), n_init)] if n_init else np.zeros(0, np.int64)],
        st["user_ids"][up_owner], st["user_ids"][st["sub_who"][approved]],
    ])
    created = np.concatenate([
        ctx.start + rng.integers(0, 3 * DAY, n_init),
        np.minimum(s_created[sess] + rng.integers(MINUTE, 20 * MINUTE, n_up), ctx.as_of - MINUTE),
        np.minimum(st["sub_reviewed"][approved] + rng.integers(MINUTE, 10 * MINUTE, len(approved)), ctx.as_of - MINUTE),
    ])
    is_global = np.concatenate([np.ones(n_init, bool), up_global, np.ones(len(approved), bool)])
    n = len(created)
    topic = np.concatenate([rng.integers(0, len(topics), n_base), st["sub_topic"][approved]])
    dtype = np.concatenate([pick(rng, _UPLOAD_TYPES, n_base, _UPLOAD_W),
                            np.array([_UPLOAD_TYPES.index(_DOC_TYPE[_RESOURCE[r]]) for r in st["sub_type"][approved]],
                                     dtype=np.int64)])
    ids = uuids(rng, n)
    n_chunks = 1 + rng.poisson(ctx.p("documents.mean_chunks") - 1, n)
    # Chunks: paragraphs of the document's topic; embeddings clustered by topic, unit length.
    doc_of = np.repeat(np.arange(n), n_chunks)
    m = len(doc_of)
    chunk_index = np.arange(m) - np.repeat(np.cumsum(n_chunks) - n_chunks, n_chunks)
    pool = [_paragraph(rng, t, 2 + int(rng.integers(0, 4))) for t in range(len(topics)) for _ in range(_K)]
    chunk_pick = topic[doc_of] * _K + rng.integers(0, _K, m)
    chunk_text = [pool[i] for i in chunk_pick.tolist()]
    k_topics = ctx.p("documents.topics")
    centroids = rng.standard_normal((k_topics, _DIM))
    emb = centroids[topic[doc_of] % k_topics] + 0.9 * rng.standard_normal((m, _DIM))
    emb /= stable(np.sqrt((emb * emb).sum(axis=1)))[:, None]
    has_emb = rng.random(m) >= ctx.p("documents.null_embedding_share")
    emb_bin = [b if h else None for b, h in zip(vector_binary(emb), has_emb.tolist())]
    chunk_created = created[doc_of] + chunk_index * 200_000
    tokens_n = rng.integers(60, 400, m)
    chunk_ids = uuids(rng, m)
    # Document text = its chunks joined.
    contents: list[list[str]] = [[] for _ in range(n)]
    for d, text in zip(doc_of.tolist(), chunk_text):
        contents[d].append(text)
    sub_titles = [st["sub_titles"][i] for i in approved.tolist()]
    title_k = rng.integers(0, len(_TITLE), n_base)
    titles = [esc(_title(topics[topic[i]], int(title_k[i]))) for i in range(n_base)] + sub_titles
    src, metas = [], []
    for i in range(n):
        kind = _UPLOAD_TYPES[dtype[i]]
        slug = _slug(titles[i])
        src.append(f"https://docs.example.org/{slug}" if kind == "html" else None)
        meta = {"chunks": int(n_chunks[i]), "source": "submission" if i >= n_base else ("launch" if i < n_init else "upload")}
        if i >= n_base:
            meta["submission_id"] = str(st["sub_ids"][approved[i - n_base]])
        if kind == "pdf":
            meta["pages"] = int(n_chunks[i]) * 2
        metas.append(json.dumps(meta))
    docs = Table("documents", ["id", "user_id", "title", "content", "document_type", "source_url", "metadata",
                               "is_global", "created_at", "updated_at"], [
        ids.tolist(), owner_txt.tolist(), titles, [esc("\n\n".join(c)) for c in contents],
        [_UPLOAD_TYPES[t] for t in dtype], src, metas, np.where(is_global, "t", "f").tolist(), ts(created), ts(created),
    ])
    chunk_meta = [f'{{"tokens": {t}, "position": {c}}}' for t, c in zip(tokens_n.tolist(), chunk_index.tolist())]
    # Binary COPY: PostgreSQL reads the 384 floats of each embedding without parsing decimal text.
    chunks = Table("document_chunks", ["id", "document_id", "content", "chunk_index", "embedding", "metadata",
                                       "created_at"], [
        chunk_ids.tolist(), ids[doc_of].tolist(), chunk_text, chunk_index.tolist(), emb_bin,
        chunk_meta, chunk_created.tolist(),
    ], types=["uuid", "uuid", "text", "int4", "vector", "jsonb", "timestamptz"])
    citable = np.flatnonzero(has_emb)
    order = citable[np.argsort(chunk_created[citable], kind="stable")]
    st.update(chunk_ids=chunk_ids[order], chunk_doc=ids[doc_of][order], chunk_created=chunk_created[order],
              chunk_topic=topic[doc_of][order])
    return docs, chunks


def _jobs(ctx: Ctx) -> Table:
    rng, st = ctx.rng, ctx.state
    staff = np.flatnonzero(st["role"] >= 1)
    n_run, n_queued = ctx.p("ingestion_jobs.running"), ctx.p("ingestion_jobs.queued")
    n_done = ctx.p("ingestion_jobs.count")
    n = n_done + n_run + n_queued if len(staff) else 0
    if not len(staff):
        n_done = n_run = n_queued = 0
    who = staff[rng.integers(0, len(staff), n)] if n else np.zeros(0, np.int64)
    total = 1 + rng.geometric(0.15, n)
    share = ctx.p("ingestion_jobs.failed_share")
    n_failed = min(n_done, max(1 if share > 0 else 0, int(round(share * n_done))))
    failed = np.zeros(n, dtype=bool)
    failed[rng.choice(n_done, size=n_failed, replace=False) if n_failed else []] = True
    started = np.concatenate([
        np.sort(ctx.start + (rng.random(n_done) * (ctx.as_of - 2 * HOUR - ctx.start)).astype(np.int64)),
        ctx.as_of - rng.integers(2 * MINUTE, 40 * MINUTE, n_run),
        ctx.as_of - rng.integers(10_000_000, 5 * MINUTE, n_queued),
    ])
    status = np.array(["completed"] * n_done + ["running"] * n_run + ["queued"] * n_queued, dtype=object)
    status[:n_done][failed[:n_done]] = "failed"
    # failed_documents: every document of a failed job after the first error; now and then one in a completed job.
    bad = np.where(status == "failed", np.minimum(1 + (rng.random(n) * total).astype(np.int64), total), 0)
    bad = np.where((status == "completed") & (total > 1) & (rng.random(n) < 0.1), 1, bad)
    processed = np.where(status == "running", (rng.random(n) * total).astype(np.int64),
                         np.where(status == "queued", 0, total - bad))
    processed = np.where(status == "failed", np.maximum(total - bad - rng.integers(0, 3, n), 0), processed)
    done = status == "completed"
    ended = (status == "completed") | (status == "failed")
    duration = (total * 20 * 1_000_000 * exp(0.5 * rng.standard_normal(n))).astype(np.int64)
    completed = np.minimum(started + duration, ctx.as_of - MINUTE)
    progress = np.where(done, 100.0, np.round(100.0 * (processed + bad * ended) / total, 1))
    err_i = rng.integers(0, len(_JOB_ERRORS), n)
    errors = [json.dumps([{"document": f"doc-{j + 1}", "error": _JOB_ERRORS[(err_i[i] + j) % len(_JOB_ERRORS)]}
                          for j in range(int(bad[i]))]) for i in range(n)]
    return Table("ingestion_jobs", ["id", "user_id", "status", "total_documents", "processed_documents",
                                    "failed_documents", "errors", "progress_percent", "started_at", "completed_at"], [
        uuids(rng, n).tolist(), st["user_ids"][who].tolist(), status.tolist(), ints(total), ints(processed), ints(bad),
        errors, [repr(float(p)) for p in progress], ts(started), ts_or_null(completed, ended),
    ])


def vector_binary(emb: np.ndarray) -> list[bytes]:
    """pgvector's binary form (int16 dimensions, int16 0, big-endian float4s) of each row, as float32."""
    m, dim = emb.shape
    head = struct.pack(">hh", dim, 0)
    raw = np.ascontiguousarray(emb, dtype=">f4").tobytes()
    size = 4 * dim
    return [head + raw[i * size:(i + 1) * size] for i in range(m)]


def generate(ctx: Ctx) -> list[Table]:
    """Rows of knowledge_submissions, documents, document_chunks and ingestion_jobs."""
    subs = _submissions(ctx)
    docs, chunks = _documents(ctx)
    return [subs, docs, chunks, _jobs(ctx)]
