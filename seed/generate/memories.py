"""User memories: what the assistant remembers of a user who chatted (their style and topics)."""

from __future__ import annotations

import numpy as np

from .common import Ctx, Table, esc, ts, words
from .state import People

_MEMORY_STYLES = (
    "- User prefers concise answers with code examples.",
    "- User likes step-by-step explanations.",
    "- User asks for sources and links.",
    "- User prefers answers in plain language.",
)


def table(ctx: Ctx, people: People, owner: np.ndarray, updated: np.ndarray, topic: np.ndarray) -> Table:
    """A memory for a share of the users who chatted, updated at their last conversation."""
    rng = ctx.rng
    topics = words("topics")
    real = owner >= 0
    last = np.full(len(people.ids), -1, dtype=np.int64)
    np.maximum.at(last, owner[real], updated[real])
    fav = np.zeros(len(people.ids), dtype=np.int64)
    o, u_t, t = owner[real], updated[real], topic[real]
    order = np.lexsort((u_t, o))
    o, t = o[order], t[order]
    latest = np.flatnonzero(np.r_[o[1:] != o[:-1], True]) if len(o) else np.zeros(0, np.int64)
    fav[o[latest]] = t[latest]  # the topic of each user's latest conversation
    chatted = np.flatnonzero(last >= 0)
    if "memories.count" in ctx.profile:  # calibrated: the source's rows, among whoever chatted in the twin
        who = np.sort(rng.choice(chatted, size=min(ctx.p("memories.count"), len(chatted)), replace=False))
    else:
        who = chatted[rng.random(len(chatted)) < ctx.p("memories.share")]
    n = len(who)
    other = rng.integers(0, len(topics), (n, 3))
    n_facts = 1 + rng.binomial(4, 0.45, n)
    style = rng.integers(0, len(_MEMORY_STYLES), n)
    mem = []
    for u, o, k, style_i in zip(who.tolist(), other.tolist(), n_facts.tolist(), style.tolist()):
        facts = [
            _MEMORY_STYLES[style_i],
            f"- User is interested in {topics[fav[u]]}.",
            f"- User works with {topics[o[0]]}.",
            f"- User is learning {topics[o[1]]}.",
            f"- User asked about {topics[o[2]]} before.",
        ]
        mem.append(esc("\n".join(facts[:k])))
    meta = ["{}"] * n
    return Table(
        "user_memories",
        ["user_id", "memory", "metadata", "updated_at"],
        [
            people.ids[who].tolist(),
            mem,
            meta,
            ts(last[who]),
        ],
    )
