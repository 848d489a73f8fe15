"""Documents as the ingestion service stores them: one ingestion job per document, 512-character chunks with
50 characters of overlap, topic-clustered 384-d embeddings, protobuf enum names as document types."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass

import numpy as np

from .common import DAY, HOUR, MINUTE, US, Ctx, Table, esc, lognormal_us, pick, stable, ts, ts_or_null, uuids, words
from .state import Citable, People, Submissions

CHUNK_SIZE = 512  # characters (engine/ingestion/chunker.py)
CHUNK_OVERLAP = 50
_DIM = 384
#: the admin's requested resource type (documents.metadata.original_type) → the stored protobuf enum name
DOCUMENT_TYPES = {
    "text": "DOCUMENT_TYPE_TEXT",
    "markdown": "DOCUMENT_TYPE_MARKDOWN",
    "url": "DOCUMENT_TYPE_HTML",
    "html": "DOCUMENT_TYPE_HTML",
    "pdf": "DOCUMENT_TYPE_PDF",
    "code": "DOCUMENT_TYPE_CODE",
}
_UPLOAD_TYPES = ("text", "markdown", "url", "pdf", "html", "code")
_UPLOAD_W = (0.25, 0.25, 0.2, 0.15, 0.1, 0.05)
_SUBMISSION_TYPE = {"text": "text", "url": "url", "pdf": "pdf", "repo": "code"}
TITLES = (
    "A practical guide to {t}",
    "{t} cheat sheet",
    "Notes on {t}",
    "{t}: common pitfalls",
    "Understanding {t}",
    "{t} in production",
    "Getting started with {t}",
    "{t} FAQ",
)
#: what the service stores in `errors` when a document fails (str(exception) or "Validation error: …")
JOB_ERRORS = (
    "Validation error: Content too short (minimum 10 characters)",
    "Failed to fetch URL: timed out",
    "Validation error: Unsupported content type",
    "Embedding service unavailable",
    "Validation error: Content exceeds maximum size",
    "PDF extraction failed: file is encrypted",
)


_DOCUMENT_COLUMNS = (
    "id",
    "user_id",
    "title",
    "content",
    "document_type",
    "source_url",
    "metadata",
    "is_global",
    "created_at",
    "updated_at",
)
_JOB_COLUMNS = (
    "id",
    "user_id",
    "status",
    "total_documents",
    "processed_documents",
    "failed_documents",
    "errors",
    "progress_percent",
    "started_at",
    "completed_at",
)
_CHUNK_COLUMNS = ("id", "document_id", "content", "chunk_index", "embedding", "metadata", "created_at")
_CHUNK_TYPES = ("uuid", "uuid", "text", "int4", "vector", "jsonb", "timestamptz")


@dataclass(frozen=True)
class _Plan:
    """Who created which document when, of which kind and topic, under which title (one item per document)."""

    owner: np.ndarray  # user index
    created: np.ndarray  # µs
    kind: list[str]  # the requested resource type (a key of DOCUMENT_TYPES)
    is_global: np.ndarray
    topic: np.ndarray
    titles: list[str]


def chunk(sentences: list[str]) -> list[str]:
    """Sentences packed into chunks of at most CHUNK_SIZE characters, each starting with the previous one's last
    CHUNK_OVERLAP characters."""
    out: list[str] = []
    cur = ""
    for s in sentences:
        cand = f"{cur} {s}" if cur else s
        if len(cand) <= CHUNK_SIZE or not cur:
            cur = cand[:CHUNK_SIZE]
            continue
        out.append(cur)
        cur = f"{cur[-CHUNK_OVERLAP:]} {s}"[:CHUNK_SIZE]
    if cur:
        out.append(cur)
    return out


def title(topic: str, k: int) -> str:
    """The k-th title template for a topic (documents and submissions share them)."""
    return TITLES[k % len(TITLES)].format(t=topic[0].upper() + topic[1:])


def slug(text: str) -> str:
    """Lowercase words joined by hyphens, for URLs and tags."""
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def _texts(ctx: Ctx, topic: np.ndarray, n_chunks: np.ndarray) -> list[list[str]]:
    """Per document, its chunks: sentences of its topic, about six per chunk."""
    rng = ctx.rng
    topics, sents = words("topics"), words("answer_sentences")
    n_sent = 6 * n_chunks - 2 + rng.integers(0, 4, len(topic))
    total = int(n_sent.sum())
    pick_s = rng.integers(0, len(sents), total)
    pick_t = rng.integers(0, len(topics), total)
    doc = np.repeat(np.arange(len(topic)), n_sent)
    texts = [
        sents[s].format(topic=topics[topic[d]], topic2=topics[t])
        for s, t, d in zip(pick_s.tolist(), pick_t.tolist(), doc.tolist())
    ]
    out, a = [], 0
    for k in n_sent.tolist():
        out.append(chunk(texts[a : a + k]))
        a += k
    return out


def vector_binary(emb: np.ndarray) -> list[bytes]:
    """pgvector's binary form (int16 dimensions, int16 0, big-endian float4s) of each row, as float32."""
    m, dim = emb.shape
    head = struct.pack(">hh", dim, 0)
    raw = np.ascontiguousarray(emb, dtype=">f4").tobytes()
    size = 4 * dim
    return [head + raw[i * size : (i + 1) * size] for i in range(m)]


def _plan(ctx: Ctx, people: People, subs: Submissions) -> _Plan:
    """Who created which document when: the launch corpus, admins' uploads, approved submissions."""
    rng = ctx.rng
    topics = words("topics")
    admins = np.flatnonzero(people.admin)
    n_base = ctx.p("documents.count") if len(admins) else 0
    n_init = int(round(ctx.p("documents.initial_share") * n_base))
    n_up = n_base - n_init
    approved = np.flatnonzero(subs.status == "approved")
    login_owner, login_created = people.logins.owner, people.logins.created
    admin_logins = np.flatnonzero(people.admin[login_owner]) if len(login_owner) else np.zeros(0, np.int64)
    login = admin_logins[rng.integers(0, len(admin_logins), n_up)] if len(admin_logins) else np.zeros(0, np.int64)
    owner = np.concatenate(
        [
            admins[rng.integers(0, len(admins), n_init)] if n_init else np.zeros(0, np.int64),
            login_owner[login],
            subs.reviewer[approved],
        ]
    )
    created = np.concatenate(
        [
            ctx.start + rng.integers(0, 3 * DAY, n_init),
            np.minimum(login_created[login] + rng.integers(MINUTE, 20 * MINUTE, n_up), ctx.as_of - 2 * MINUTE),
            np.minimum(
                subs.reviewed[approved] + rng.integers(MINUTE, 10 * MINUTE, len(approved)), ctx.as_of - 2 * MINUTE
            ),
        ]
    )
    kind = [_UPLOAD_TYPES[i] for i in pick(rng, _UPLOAD_TYPES, n_base, _UPLOAD_W).tolist()]
    kind += [_SUBMISSION_TYPE[("text", "url", "pdf", "repo")[r]] for r in subs.resource_type[approved].tolist()]
    up_global = rng.random(n_up) < ctx.p("documents.global_share")
    is_global = np.concatenate([np.ones(n_init, bool), up_global, np.ones(len(approved), bool)])
    topic = np.concatenate([rng.integers(0, len(topics), n_base), subs.topic[approved]])
    title_k = rng.integers(0, len(TITLES), n_base)
    titles = [title(topics[topic[i]], int(title_k[i])) for i in range(n_base)]
    titles += [subs.raw_titles[i] for i in approved.tolist()]
    return _Plan(owner, created, kind, is_global, topic, titles)


def _job_counts(ctx: Ctx, n_docs: int, n_admins: int) -> tuple[int, int, int, int]:
    """How many jobs are partial (among the documents' jobs), failed, processing and queued (without a document)."""
    share = ctx.p("ingestion_jobs.failed_share")
    n_failed = int(round(share / (1 - share) * n_docs)) if share < 1 and n_admins else 0
    n_part = min(ctx.p("ingestion_jobs.partial"), n_docs)
    n_proc, n_queue = (ctx.p("ingestion_jobs.processing"), ctx.p("ingestion_jobs.queued")) if n_admins else (0, 0)
    return n_part, n_failed, n_proc, n_queue


def _jobs(ctx: Ctx, people: People, plan: _Plan, n_chunks: np.ndarray) -> tuple[Table, np.ndarray]:
    """One job per document (completed, one partial), plus failed jobs whose document was deleted and jobs still
    processing or queued at as_of (whose document does not exist yet)."""
    rng, n_docs = ctx.rng, len(plan.created)
    admins = np.flatnonzero(people.admin)
    n_part, n_failed, n_proc, n_queue = _job_counts(ctx, n_docs, len(admins))
    f_owner = (
        admins[rng.integers(0, len(admins), n_failed + n_proc + n_queue)] if len(admins) else np.zeros(0, np.int64)
    )
    f_start = np.concatenate(
        [
            ctx.start + (rng.random(n_failed) * (ctx.as_of - 2 * HOUR - ctx.start)).astype(np.int64),
            ctx.as_of - rng.integers(30 * US, 4 * MINUTE, n_proc),
            ctx.as_of - rng.integers(5 * US, 60 * US, n_queue),
        ]
    )
    lead = rng.integers(200_000, 3 * US, n_docs)  # the job row is written, then the document
    owner = np.concatenate([plan.owner, f_owner])
    started = np.concatenate([plan.created - lead, f_start])
    status = np.array(
        ["completed"] * n_docs + ["failed"] * n_failed + ["processing"] * n_proc + ["queued"] * n_queue, dtype=object
    )
    partial = rng.choice(n_docs, size=n_part, replace=False) if n_part else np.zeros(0, np.int64)
    status[partial] = "partial"
    n = len(owner)
    processed = np.isin(status, ("completed", "partial")).astype(np.int64)
    failed = np.isin(status, ("failed", "partial")).astype(np.int64)
    took = np.concatenate(
        [
            lognormal_us(rng, 2 * US, 0.6, n_docs) + n_chunks * lognormal_us(rng, 250_000, 0.5, n_docs),
            lognormal_us(rng, 4 * US, 1.0, n - n_docs),
        ]
    )
    took[:n_docs] += lead
    completed = np.minimum(started + took, ctx.as_of - MINUTE)
    err = rng.integers(0, len(JOB_ERRORS), n)
    errors = [json.dumps([JOB_ERRORS[e]]) if f else "[]" for f, e in zip(failed.tolist(), err.tolist())]
    progress = 100.0 * (processed + failed)  # the service's (processed + failed) / total_documents × 100
    ids = uuids(rng, n)
    columns = [
        ids.tolist(),
        people.ids[owner].tolist(),
        status.tolist(),
        ["1"] * n,
        processed.astype(str).tolist(),
        failed.astype(str).tolist(),
        errors,
        [repr(float(p)) for p in progress.tolist()],
        ts(started),
        ts_or_null(completed, processed + failed > 0),
    ]
    return Table("ingestion_jobs", list(_JOB_COLUMNS), columns), ids[:n_docs]


def _embeddings(ctx: Ctx, chunk_topic: np.ndarray) -> tuple[list[bytes | None], np.ndarray]:
    """Each chunk's unit embedding near its topic's centroid (pgvector binary; None for the unembedded share),
    and whether it has one."""
    rng, m = ctx.rng, len(chunk_topic)
    k_topics = ctx.p("documents.topics")
    centroids = rng.standard_normal((k_topics, _DIM))
    emb = centroids[chunk_topic % k_topics] + 0.9 * rng.standard_normal((m, _DIM))
    emb /= stable(np.sqrt((emb * emb).sum(axis=1)))[:, None]
    has_emb = rng.random(m) >= ctx.p("documents.null_embedding_share")
    return [b if h else None for b, h in zip(vector_binary(emb), has_emb.tolist())], has_emb


def _documents_table(people: People, plan: _Plan, texts: list[list[str]], ids: np.ndarray, job_ids) -> Table:
    src, metas, contents = [], [], []
    for i in range(len(ids)):
        kind, title = plan.kind[i], plan.titles[i]
        src.append(f"https://docs.example.org/{slug(title)}" if kind == "url" else None)
        metas.append(esc(json.dumps({"title": title, "original_type": kind, "job_id": str(job_ids[i])})))
        contents.append(esc(_join(texts[i])))
    created = ts(plan.created)
    columns = [
        ids.tolist(),
        people.ids[plan.owner].tolist(),
        [esc(t) for t in plan.titles],
        contents,
        [DOCUMENT_TYPES[k] for k in plan.kind],
        src,
        metas,
        np.where(plan.is_global, "t", "f").tolist(),
        created,
        created,
    ]
    return Table("documents", list(_DOCUMENT_COLUMNS), columns)


def generate(ctx: Ctx, people: People, subs: Submissions) -> tuple[Table, Table, Table, Citable]:
    """Rows of documents, document_chunks and ingestion_jobs, and the chunks answers can cite."""
    rng = ctx.rng
    plan = _plan(ctx, people, subs)
    n = len(plan.created)
    n_chunks = 1 + rng.poisson(ctx.p("documents.mean_chunks") - 1, n)
    texts = _texts(ctx, plan.topic, n_chunks)
    n_chunks = np.array([len(t) for t in texts], dtype=np.int64)
    jobs, job_ids = _jobs(ctx, people, plan, n_chunks)
    ids = uuids(rng, n)
    doc_of = np.repeat(np.arange(n), n_chunks)
    chunk_index = np.arange(len(doc_of)) - np.repeat(np.cumsum(n_chunks) - n_chunks, n_chunks)
    emb_bin, has_emb = _embeddings(ctx, plan.topic[doc_of])
    chunk_created = plan.created[doc_of]  # one transaction: every chunk of a document shares its created_at
    chunk_text = [c for t in texts for c in t]
    chunk_ids = uuids(rng, len(doc_of))
    meta_of = [json.dumps({"document_id": str(d), "title": t}) for d, t in zip(ids.tolist(), plan.titles)]
    chunks = Table(
        "document_chunks",
        list(_CHUNK_COLUMNS),
        [
            chunk_ids.tolist(),
            ids[doc_of].tolist(),
            chunk_text,
            chunk_index.tolist(),
            emb_bin,
            [meta_of[d] for d in doc_of.tolist()],
            chunk_created.tolist(),
        ],
        types=list(_CHUNK_TYPES),
    )
    citable = np.flatnonzero(has_emb & plan.is_global[doc_of])  # what hybrid_search finds for any user
    order = citable[np.argsort(chunk_created[citable], kind="stable")]
    cited = Citable(
        chunk_ids=chunk_ids[order],
        document_ids=ids[doc_of][order],
        created=chunk_created[order],
        content_json=[json.dumps(chunk_text[i]) for i in order.tolist()],
    )
    return _documents_table(people, plan, texts, ids, job_ids), chunks, jobs, cited


def _join(chunks: list[str]) -> str:
    """The document text the chunks were cut from (each chunk after the first repeats the overlap)."""
    if not chunks:
        return ""
    return chunks[0] + "".join(" " + c[CHUNK_OVERLAP + 1 :] for c in chunks[1:])
