"""What the intelligence service stores with each answer: `sources` (its top-5 hybrid-search hits) and
`metadata` {"metrics": {...}}; questions get `[]` and `{}`."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .common import Ctx, esc, lognormal_us
from .state import Citable

TOP_K = 5
#: hybrid_search's reciprocal-rank fusion: vector_weight / (60 + vector rank) + keyword_weight / (60 + keyword rank),
#: a chunk missing from the keyword results ranking 1000 there
VECTOR_WEIGHT, KEYWORD_WEIGHT, RRF_K, MISSING_RANK = 0.7, 0.3, 60, 1000
KEYWORD_HIT_SHARE = 0.55  # cited chunks the keyword search found too
STREAMED_SHARE = 0.6  # answers streamed (their metrics lack prompt/completion token counts)
FAILED_SHARE = 0.01  # generations that failed (non-streamed): the service stores this text
FAILED_TEXT = "I encountered an error generating a response."


def _scores(rng: np.random.Generator, n: int) -> np.ndarray:
    """`n` rows of TOP_K reciprocal-rank-fusion scores, best first."""
    vrank = np.cumsum(rng.geometric(0.6, (n, TOP_K)), axis=1)
    krank = np.where(rng.random((n, TOP_K)) < KEYWORD_HIT_SHARE, rng.geometric(0.2, (n, TOP_K)), MISSING_RANK)
    scores = VECTOR_WEIGHT / (RRF_K + vrank) + KEYWORD_WEIGHT / (RRF_K + krank)
    return -np.sort(-scores, axis=1)


def _picks(draws: list[int], avail: int) -> list[int]:
    """The first min(TOP_K, avail) distinct chunk positions among `draws`, filled from the newest if short."""
    out = list(dict.fromkeys(draws))[:TOP_K]
    want = min(TOP_K, avail)
    c = avail - 1
    while len(out) < want:
        if c not in out:
            out.append(c)
        c -= 1
    return out


def columns(
    ctx: Ctx, citable: Citable, is_answer: np.ndarray, time: np.ndarray, asked: np.ndarray, failed: np.ndarray
) -> tuple[Callable[[int, int], list[str]], Callable[[int, int], list[str]]]:
    """Functions (start, stop) → the `sources` and `metadata` JSON of each message (every random draw made now).

    An answer cites the top chunks of global documents that existed when it was written (`asked`: its question's time).
    """
    rng, total = ctx.rng, len(time)
    avail = np.searchsorted(citable.created, asked, side="right")
    rag = is_answer & (avail > 0) & (rng.random(total) < ctx.p("conversations.sources_share"))
    draws = (rng.random((total, 2 * TOP_K)) * avail[:, None]).astype(np.int64)
    scores = _scores(rng, total)
    streamed = ~failed & (rng.random(total) < STREAMED_SHARE)
    retrieval = lognormal_us(rng, 140_000, 0.5, total)
    elapsed = np.maximum(time - asked - lognormal_us(rng, 60_000, 0.6, total), retrieval + 200_000)
    generation = np.where(failed, lognormal_us(rng, 900_000, 0.5, total), elapsed - retrieval)
    ptok = rng.integers(180, 700, total) + np.where(rag, rng.integers(500, 1600, total), 0)
    ctok = np.where(failed, 0, np.maximum(generation // 22_000, 8))
    head = [
        esc(f'{{"chunk_id": "{c}", "document_id": "{d}", "relevance_score": ')
        for c, d in zip(citable.chunk_ids.tolist(), citable.document_ids.tolist())
    ]
    tail = [esc(f', "content": {j}}}') for j in citable.content_json]

    # The scores take few distinct values (pairs of ranks): format each once.
    uniq, inverse = np.unique(scores, return_inverse=True)
    score_text = np.array([repr(float(u)) for u in uniq.tolist()], dtype=object)[inverse.reshape(scores.shape)]

    def sources(a: int, b: int) -> list[str]:
        out = ["[]"] * (b - a)
        for i in (a + np.flatnonzero(rag[a:b])).tolist():
            chosen = _picks(draws[i].tolist(), int(avail[i]))
            out[i - a] = "[" + ", ".join([head[c] + x + tail[c] for c, x in zip(chosen, score_text[i].tolist())]) + "]"
        return out

    def metadata(a: int, b: int) -> list[str]:
        out = ["{}"] * (b - a)
        rows = a + np.flatnonzero(is_answer[a:b])
        r, g = retrieval[rows] / 1000, generation[rows] / 1000
        r_s, g_s, t_s = (np.char.mod("%.3f", x).tolist() for x in (r, g, r + g))
        for j, i in enumerate(rows.tolist()):
            k = min(TOP_K, int(avail[i])) if rag[i] else 0
            avg = sum(scores[i, :k].tolist()) / k if k else 0.0
            if streamed[i]:
                body = (
                    f'"retrieval_time_ms": {r_s[j]}, "sources_retrieved": {k}, "avg_similarity": {avg!r}, '
                    f'"generation_time_ms": {g_s[j]}, "total_time_ms": {t_s[j]}, "tokens_generated": {ctok[i]}'
                )
            else:
                pt, ct = (int(ptok[i]), int(ctok[i])) if not failed[i] else (0, 0)
                body = (
                    f'"retrieval_time_ms": {r_s[j]}, "generation_time_ms": {g_s[j]}, "total_time_ms": {t_s[j]}, '
                    f'"sources_retrieved": {k}, "avg_similarity": {avg!r}, "prompt_tokens": {pt}, '
                    f'"completion_tokens": {ct}, "tokens_generated": {pt + ct}'
                )
            out[i - a] = '{"metrics": {' + body + "}}"
        return out

    return sources, metadata
