"""What the intelligence service stores with each answer: `sources` (its top-5 hybrid-search hits) and
`metadata` {"metrics": {...}}; questions get `[]` and `{}`."""

from __future__ import annotations

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


_BLOCK = 1 << 20  # rows per block of random draws made a block at a time (the same numbers as one call)


def _blocks(total: int) -> range:
    """Starts of the row blocks of `total` rows."""
    return range(0, total, _BLOCK)


def _scores(rng: np.random.Generator, n: int, keep: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """`n` rows of TOP_K reciprocal-rank-fusion scores, best first, drawn for every row but kept only for the rows
    where `keep` is true: as indices into the sorted distinct scores (int32), and those scores.

    Drawn a block at a time, one distribution after the other: the same numbers as drawing each in one call, with
    peak memory bounded by the kept rows (a profile of 10 million messages)."""
    vrank = [
        np.cumsum(rng.geometric(0.6, (min(_BLOCK, n - a), TOP_K)), axis=1)[keep[a : a + _BLOCK]] for a in _blocks(n)
    ]
    hit = [(rng.random((min(_BLOCK, n - a), TOP_K)) < KEYWORD_HIT_SHARE)[keep[a : a + _BLOCK]] for a in _blocks(n)]
    uniq, inverse = [], []
    for i, a in enumerate(_blocks(n)):
        krank = np.where(hit[i], rng.geometric(0.2, (min(_BLOCK, n - a), TOP_K))[keep[a : a + _BLOCK]], MISSING_RANK)
        scores = VECTOR_WEIGHT / (RRF_K + vrank[i]) + KEYWORD_WEIGHT / (RRF_K + krank)
        u, inv = np.unique(-np.sort(-scores, axis=1), return_inverse=True)
        uniq.append(u)
        inverse.append(inv.reshape(scores.shape).astype(np.int32))
        vrank[i] = hit[i] = None
    values = np.unique(np.concatenate(uniq)) if uniq else np.zeros(0)
    index = [np.searchsorted(values, u).astype(np.int32)[inv] for u, inv in zip(uniq, inverse)]
    return (np.concatenate(index) if index else np.zeros((0, TOP_K), np.int32)), values.tolist()


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


def _picks_matrix(draws: np.ndarray, avail: np.ndarray) -> np.ndarray:
    """`_picks` of every row of `draws` at once, padded with -1 to TOP_K columns (rows short of distinct draws, rare,
    go through `_picks` itself)."""
    n, width = draws.shape
    earlier = np.tri(width, width, -1, dtype=bool)  # [j, l]: position l comes before position j
    first = ~((draws[:, :, None] == draws[:, None, :]) & earlier).any(axis=2)
    rank = np.cumsum(first, axis=1) - 1
    rows, cols = np.nonzero(first & (rank < TOP_K))
    out = np.full((n, TOP_K), -1, dtype=np.int64)
    out[rows, rank[rows, cols]] = draws[rows, cols]
    for i in np.flatnonzero((out >= 0).sum(axis=1) < np.minimum(TOP_K, avail)).tolist():
        chosen = _picks(draws[i].tolist(), int(avail[i]))
        out[i] = -1
        out[i, : len(chosen)] = chosen
    return out


class _Sources:
    """The `sources` JSON of messages, COPY-escaped, joined from a table of shared pieces (each cited chunk's
    head and tail, each distinct score) chosen by vectorized indexing: no per-item string concatenation.
    Draws, availability and score indices are held for the cited messages only (`cited`: their row numbers)."""

    _EMPTY, _OPEN, _CLOSE, _COMMA = range(4)
    _SLOTS = 2 + 4 * TOP_K  # "[", TOP_K × (separator, head, score, tail), "]"

    def __init__(self, citable: Citable, cited, draws, avail, score_index: np.ndarray, score_text: list[str]) -> None:
        head = [
            esc(f'{{"chunk_id": "{c}", "document_id": "{d}", "relevance_score": ')
            for c, d in zip(citable.chunk_ids.tolist(), citable.document_ids.tolist())
        ]
        tail = [esc(f', "content": {j}}}') for j in citable.content_json]
        self._pieces = ["", "[", "]", ", ", *head, *tail, *score_text]
        self._head, self._tail, self._score = 4, 4 + len(head), 4 + 2 * len(head)
        self._cited, self._draws, self._avail, self._score_index = cited, draws, avail, score_index

    def parts(self, a: int, b: int) -> list[list[str]]:
        """The JSON of messages [a, b) as lists of parts: "[", then per cited chunk a separator, its head, its
        score and its tail ("" where a message cites fewer), "]"."""
        slots = np.zeros((b - a, self._SLOTS), dtype=np.int64)
        slots[:, 0], slots[:, -1] = self._OPEN, self._CLOSE
        i, j = np.searchsorted(self._cited, [a, b])
        cited = self._cited[i:j]
        chosen = _picks_matrix(self._draws[i:j], self._avail[i:j])
        has = chosen >= 0
        item = np.zeros((len(cited), TOP_K, 4), dtype=np.int64)
        item[:, 1:, 0] = np.where(has[:, 1:], self._COMMA, self._EMPTY)
        item[:, :, 1] = np.where(has, self._head + chosen, self._EMPTY)
        item[:, :, 2] = np.where(has, self._score + self._score_index[i:j], self._EMPTY)
        item[:, :, 3] = np.where(has, self._tail + chosen, self._EMPTY)
        slots[cited - a, 1:-1] = item.reshape(len(cited), 4 * TOP_K)
        return [list(map(self._pieces.__getitem__, column)) for column in slots.T.tolist()]

    def __call__(self, a: int, b: int) -> list[str]:
        """The JSON of messages [a, b), each joined from its parts."""
        return list(map("".join, zip(*self.parts(a, b))))


_MILLIS = np.array([f"{i:03d}" for i in range(1000)], dtype=object)


def _ms(us: np.ndarray) -> list[str]:
    """Whole µs as milliseconds with 3 decimals: "%.3f" % (us / 1000), without float formatting."""
    whole, frac = np.divmod(us, 1000)
    return (whole.astype(str).astype(object) + "." + _MILLIS[frac]).tolist()


def _metrics(r_s: str, g_s: str, t_s: str, k: int, avg: float, streamed: bool, pt: int, ct: int) -> str:
    """An answer's `metadata`: the service's metrics, in its key order (streamed answers count no prompt)."""
    if streamed:
        body = (
            f'"retrieval_time_ms": {r_s}, "sources_retrieved": {k}, "avg_similarity": {avg!r}, '
            f'"generation_time_ms": {g_s}, "total_time_ms": {t_s}, "tokens_generated": {ct}'
        )
    else:
        body = (
            f'"retrieval_time_ms": {r_s}, "generation_time_ms": {g_s}, "total_time_ms": {t_s}, '
            f'"sources_retrieved": {k}, "avg_similarity": {avg!r}, "prompt_tokens": {pt}, '
            f'"completion_tokens": {ct}, "tokens_generated": {pt + ct}'
        )
    return '{"metrics": {' + body + "}}"


class _Metadata:
    """The `metadata` JSON of messages: `{}` for a question, the service's metrics for an answer (the scores of the
    cited messages only, as indices into `values`)."""

    def __init__(self, is_answer, streamed, retrieval, generation, k, scores, prompt, completion) -> None:
        self._is_answer, self._streamed, self._k = is_answer, streamed, k
        self._cited, self._score_index, self._values = scores
        self._retrieval, self._generation, self._prompt, self._completion = retrieval, generation, prompt, completion

    def _avg(self, rows: np.ndarray, n_cited: list[int]) -> list[float]:
        """Each row's mean score over its cited chunks (0.0 when it cites none), summed in rank order."""
        if not len(self._cited):
            return [0.0] * len(rows)
        at = np.minimum(np.searchsorted(self._cited, rows), len(self._cited) - 1)
        scores = self._values[self._score_index[at]].tolist()
        return [sum(row[:n]) / n if n else 0.0 for row, n in zip(scores, n_cited)]

    def __call__(self, a: int, b: int) -> list[str]:
        out = ["{}"] * (b - a)
        rows = a + np.flatnonzero(self._is_answer[a:b])
        r, g = self._retrieval[rows], self._generation[rows]
        n_cited = self._k[rows].tolist()
        avg = self._avg(rows, n_cited)
        more = (x[rows].tolist() for x in (self._streamed, self._prompt, self._completion))
        for i, text in zip((rows - a).tolist(), map(_metrics, _ms(r), _ms(g), _ms(r + g), n_cited, avg, *more)):
            out[i] = text
        return out


def columns(
    ctx: Ctx, citable: Citable, is_answer: np.ndarray, time: np.ndarray, asked: np.ndarray, failed: np.ndarray
) -> tuple[_Sources, _Metadata]:
    """Functions (start, stop) → the `sources` and `metadata` JSON of each message (every random draw made now).

    An answer cites the top chunks of global documents that existed when it was written (`asked`: its question's time).
    Per-chunk draws are made for every message, a block at a time, and kept for the citing messages only.
    """
    rng, total = ctx.rng, len(time)
    avail = np.searchsorted(citable.created, asked, side="right")
    rag = is_answer & (avail > 0) & (rng.random(total) < ctx.p("conversations.sources_share"))
    draws = [
        (rng.random((min(_BLOCK, total - a), 2 * TOP_K)) * avail[a : a + _BLOCK, None]).astype(np.int32)[
            rag[a : a + _BLOCK]
        ]
        for a in _blocks(total)
    ]
    draws = np.concatenate(draws) if draws else np.zeros((0, 2 * TOP_K), np.int32)
    score_index, values = _scores(rng, total, rag)
    streamed = ~failed & (rng.random(total) < STREAMED_SHARE)
    retrieval = lognormal_us(rng, 140_000, 0.5, total)
    elapsed = np.maximum(time - asked - lognormal_us(rng, 60_000, 0.6, total), retrieval + 200_000)
    generation = np.where(failed, lognormal_us(rng, 900_000, 0.5, total), elapsed - retrieval)
    del elapsed
    ptok = rng.integers(180, 700, total) + np.where(rag, rng.integers(500, 1600, total), 0)
    ctok = np.where(failed, 0, np.maximum(generation // 22_000, 8))
    ptok = np.where(failed, 0, ptok)
    k = np.where(rag, np.minimum(TOP_K, avail), 0)

    # The scores take few distinct values (pairs of ranks): each is formatted once.
    cited = np.flatnonzero(rag)
    sources = _Sources(citable, cited, draws, avail[rag].astype(np.int32), score_index, [repr(u) for u in values])
    scores = (cited, score_index, np.array(values, dtype=np.float64))
    metadata = _Metadata(is_answer, streamed, retrieval, generation, k, scores, ptok, ctok)
    return sources, metadata
