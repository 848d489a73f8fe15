"""Conversations and their message trees (built parent-first), the `messages` mirror, and user memories."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import answers, memories, weekly
from .common import (
    MINUTE,
    US,
    Ctx,
    Lazy,
    Table,
    esc,
    group_starts,
    lognormal_us,
    position_in_group,
    texts,
    ts,
    uuids,
    words,
)
from .state import Citable, People

_USER, _ASSISTANT = 0, 1
_ROLE = ("user", "assistant")
_VARIANTS = 24  # text variants per topic and kind
#: conversations whose metadata is JSON null (the web client's); the others '{}' (created by the services' defaults)
NULL_METADATA_SHARE = 0.9
TITLE_LENGTH = 50


def title_of(question: str) -> str:
    """The web client's title for a conversation: the first question's first 50 characters, line breaks as spaces, trimmed."""
    return question.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")[:TITLE_LENGTH].strip()


@dataclass
class _Msgs:
    """Messages as parallel arrays; `parent` and the others index the global message list."""

    conv: np.ndarray
    parent: np.ndarray
    role: np.ndarray
    time: np.ndarray
    depth: np.ndarray
    flag: np.ndarray  # 0 plain, 1 regenerated answer, 2 edited question, 3 on a branch


def _chain(ctx: Ctx, base: int, conv, first_parent, first_role, t0, depth0, length, flag) -> _Msgs:
    """Linear chains, one per row of the arguments: alternating user/assistant messages, each the parent of the next."""
    rng = ctx.rng
    total = int(length.sum())
    pos = position_in_group(length)
    g = np.repeat(np.arange(len(length)), length)
    idx = base + np.arange(total, dtype=np.int64)
    role = (first_role[g] + pos) % 2
    think = lognormal_us(rng, 45 * US, 1.0, total)
    answer = lognormal_us(rng, 7 * US, 0.5, total)
    gap = np.where(role == _USER, think, answer)
    gap[pos == 0] = 0
    cs = np.cumsum(gap)
    time = t0[g] + cs - np.repeat(cs[group_starts(length)], length)
    fl = np.where(pos == 0, flag[g], np.where(flag[g] > 0, 3, 0))
    return _Msgs(conv[g], np.where(pos == 0, first_parent[g], idx - 1), role, time, depth0[g] + pos, fl)


def _fit(m: _Msgs, length: np.ndarray, start: np.ndarray, limit: int) -> None:
    """Squeeze each chain's timeline so its last message is not after `limit` (order is kept)."""
    g = np.repeat(np.arange(len(length)), length)
    end = np.zeros(len(length), dtype=np.int64)
    np.maximum.at(end, g, m.time)
    s = start
    scale = np.where(end > limit, (limit - s) / np.maximum(end - s, 1), 1.0)
    m.time = np.where(scale[g] < 1, s[g] + ((m.time - s[g]) * scale[g]).astype(np.int64), m.time)


def _concat(parts: list[_Msgs]) -> _Msgs:
    return _Msgs(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in ("conv", "parent", "role", "time", "depth", "flag"))
    )


def _branches(ctx: Ctx, m: _Msgs, base: int, among: np.ndarray) -> _Msgs:
    """Alternative continuations: regenerated answers and edited questions, as siblings of messages in `among`."""
    rng, maxd = ctx.rng, ctx.p("conversations.max_depth")
    r = rng.random(len(among))
    role = m.role[among]
    regen = (role == _ASSISTANT) & (r < ctx.p("conversations.regenerate_prob"))
    edit = (role == _USER) & (r < ctx.p("conversations.edit_prob"))
    pick_ = among[regen | edit]
    is_regen = m.role[pick_] == _ASSISTANT
    k = len(pick_)
    more = np.where(rng.random(k) < 0.5, 0, rng.geometric(0.45, k))
    length = np.where(is_regen, 1 + 2 * more, 2 + 2 * more)
    length = np.maximum(np.minimum(length, maxd - m.depth[pick_] + 1), 1)
    delay = np.where(is_regen, lognormal_us(rng, 40 * US, 0.8, k), lognormal_us(rng, 180 * US, 1.0, k))
    out = _chain(
        ctx,
        base,
        m.conv[pick_],
        m.parent[pick_],
        m.role[pick_],
        m.time[pick_] + delay,
        m.depth[pick_],
        length,
        np.where(is_regen, 1, 2),
    )
    out.time = np.minimum(out.time, ctx.as_of)
    return out


def _turn_lengths(ctx: Ctx, n_conv: int) -> np.ndarray:
    """Main-path lengths from the short/long mixture of geometric question-answer turns."""
    rng, maxd = ctx.rng, ctx.p("conversations.max_depth")
    long = rng.random(n_conv) < ctx.p("conversations.long_share")
    turns = np.where(
        long,
        rng.geometric(1 / ctx.p("conversations.long_mean_turns"), n_conv),
        rng.geometric(1 / ctx.p("conversations.short_mean_turns"), n_conv),
    )
    cap = maxd // 2
    over = turns > cap  # redrawn below the cap rather than clipped onto it (no spike at max_depth)
    turns[over] = 1 + (rng.random(int(over.sum())) * cap).astype(np.int64)
    return np.maximum(2 * turns - (rng.random(n_conv) < ctx.p("conversations.unanswered_share")), 1)


def _empirical_lengths(ctx: Ctx, n_conv: int) -> np.ndarray:
    """Main-path lengths drawn from the profile's `conversations.length_weights`, capped by max_depth."""
    pairs = ctx.p("conversations.length_weights")
    lengths = np.array([a for a, _ in pairs], dtype=np.int64)
    w = np.array([b for _, b in pairs], dtype=float)
    drawn = lengths[ctx.rng.choice(len(lengths), size=n_conv, p=w / w.sum())] if n_conv else lengths[:0]
    return np.maximum(np.minimum(drawn, ctx.p("conversations.max_depth")), 1)


def _mirror_cutoff(ctx: Ctx, start: np.ndarray, spine_conv: np.ndarray) -> int:
    """When the API stopped mirroring: a share of the history, or (calibrated profiles) of the conversations, or
    once the oldest conversations' main paths hold `mirror_rows` messages."""
    rows = ctx.profile.get("conversations.mirror_rows")
    if rows is not None:
        held = np.cumsum(np.bincount(spine_conv, minlength=len(start)))  # conversations are ordered by start
        k = int(np.searchsorted(held, rows))  # conversations 0..k hold at least `rows` messages
        k -= int(0 < k < len(held) and held[k] - rows > rows - held[k - 1])  # or 0..k-1, if nearer
        return int(start[k + 1]) if k + 1 < len(start) else ctx.as_of + 1
    share = ctx.profile.get("conversations.mirror_conversation_share")
    if share is None:
        return ctx.start + int(ctx.p("conversations.mirror_share") * (ctx.as_of - ctx.start))
    k = int(round(share * len(start)))
    return int(start[k]) if k < len(start) else ctx.as_of + 1  # `start` is sorted


def _pools(ctx: Ctx) -> tuple[list[str], list[str], list[str]]:
    """Per topic, `_VARIANTS` question texts (raw and COPY-escaped) and `_VARIANTS` answer texts (COPY-escaped)."""
    rng = ctx.rng
    topics, qs, sents = words("topics"), words("question_templates"), words("answer_sentences")
    nt = len(topics)
    q_t = rng.integers(0, len(qs), nt * _VARIANTS)
    other = rng.integers(0, nt, (nt * _VARIANTS, 4))
    n_sent = rng.integers(2, 6, nt * _VARIANTS)
    s_i = rng.integers(0, len(sents), (nt * _VARIANTS, 5))
    para = rng.random(nt * _VARIANTS) < 0.3
    raw, questions, answers = [], [], []
    for j in range(nt * _VARIANTS):
        t = topics[j // _VARIANTS]
        raw.append(qs[q_t[j]].format(topic=t, topic2=topics[other[j, 0]]))
        questions.append(esc(raw[-1]))
        body = [sents[s_i[j, i]].format(topic=t, topic2=topics[other[j, 1 + i % 3]]) for i in range(n_sent[j])]
        sep = "\n\n" if para[j] else " "
        answers.append(esc(body[0] + sep + " ".join(body[1:])) if len(body) > 1 else esc(body[0]))
    return raw, questions, answers


def _starts(ctx: Ctx, people: People, n_conv: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each conversation's `user_id` text, owner (user index, -1 for an orphan id) and start, ordered by start:
    most start minutes after a sign-in (weekly.py: which, with `conversations.weekly_active_users`), the orphans' at
    any time under ids of users that no longer exist."""
    rng = ctx.rng
    login_owner, login_created = people.logins.owner, people.logins.created
    n_orph = int(round(ctx.p("conversations.orphan_share") * n_conv)) if len(login_owner) else n_conv
    n_real = n_conv - n_orph
    if not n_real:
        login = np.zeros(0, np.int64)
    elif weekly.KEY in ctx.profile:
        login = weekly.picks(ctx, people, n_real)
    else:
        login = rng.integers(0, len(login_owner), n_real)
    start_real = login_created[login] + rng.exponential(5 * MINUTE, n_real).astype(np.int64)
    ghosts = uuids(rng, max(1, n_orph // 3))
    ghost_of = rng.integers(0, len(ghosts), n_orph)
    start_orph = ctx.start + (rng.random(n_orph) * (ctx.as_of - ctx.start)).astype(np.int64)
    user_txt = np.concatenate([people.ids[login_owner[login]], ghosts[ghost_of]]) if n_conv else np.zeros(0, "U36")
    owner = np.concatenate([login_owner[login], np.full(n_orph, -1)])
    start = np.minimum(np.concatenate([start_real, start_orph]), ctx.as_of - 2 * MINUTE)
    order = np.argsort(start, kind="stable")
    return user_txt[order].astype("S36"), owner[order], start[order]


def _trees(ctx: Ctx, start: np.ndarray) -> tuple[_Msgs, np.ndarray, int]:
    """Every message (spines first, then two rounds of branches), each spine's length, and the number of spine
    messages. Spines: question/answer turns, most conversations short (the services store no system prompt)."""
    n_conv = len(start)
    if "conversations.length_weights" in ctx.profile:
        length = _empirical_lengths(ctx, n_conv)
    else:
        length = _turn_lengths(ctx, n_conv)
    zeros = np.zeros(n_conv, np.int64)
    spine = _chain(
        ctx, 0, np.arange(n_conv), np.full(n_conv, -1, dtype=np.int64), zeros, start.copy(), zeros + 1, length, zeros
    )
    _fit(spine, length, start, ctx.as_of - MINUTE)
    m = spine
    first = _branches(ctx, m, len(m.conv), np.arange(len(m.conv)))
    m = _concat([m, first])
    second = _branches(ctx, m, len(m.conv), np.arange(len(m.conv) - len(first.conv), len(m.conv)))
    m = _concat([m, second])
    _faults(ctx, m)
    return m, length, len(spine.conv)


@dataclass(frozen=True)
class _Content:
    """Each message's text, from per-topic pools: questions, answers, or the service's failure text."""

    role: np.ndarray
    pool_i: np.ndarray  # index into the pools: topic * _VARIANTS + variant
    failed: np.ndarray  # a failed generation (an answer)
    raw_questions: list[str]
    questions: list[str]  # COPY-escaped
    answers: list[str]  # COPY-escaped

    def texts(self, rows: np.ndarray) -> list[str]:
        """The COPY-escaped content of the messages at `rows`."""
        return [
            self.questions[p] if r == _USER else answers.FAILED_TEXT if f else self.answers[p]
            for r, p, f in zip(self.role[rows].tolist(), self.pool_i[rows].tolist(), self.failed[rows].tolist())
        ]


def _content(ctx: Ctx, m: _Msgs, topic: np.ndarray) -> _Content:
    raw_questions, questions, answer_pool = _pools(ctx)
    pool_i = topic[m.conv] * _VARIANTS + ctx.rng.integers(0, _VARIANTS, len(m.conv))
    failed = (m.role == _ASSISTANT) & (ctx.rng.random(len(m.conv)) < answers.FAILED_SHARE)
    return _Content(m.role, pool_i, failed, raw_questions, questions, answer_pool)


def _chat_table(ctx: Ctx, citable: Citable, m: _Msgs, ids, conv_ids, content: _Content) -> Table:
    """chat_messages; every random draw happens here, the per-row text is built lazily, chunk by chunk, while COPY
    runs. Answers carry the service's sources and metrics (answers.py)."""
    total = len(m.conv)
    asked = np.where(m.parent >= 0, m.time[np.maximum(m.parent, 0)], m.time)
    sources, meta = answers.columns(ctx, citable, m.role == _ASSISTANT, m.time, asked, content.failed)

    def parents(a: int, b: int) -> list[str | None]:
        p = m.parent[a:b]
        return [None if q < 0 else v for q, v in zip(p.tolist(), texts(ids[np.maximum(p, 0)]))]

    return Table(
        "chat_messages",
        ["id", "conversation_id", "parent_id", "role", "content", "sources", "metadata", "created_at"],
        [
            Lazy(total, lambda a, b: texts(ids[a:b])),
            Lazy(total, lambda a, b: texts(conv_ids[m.conv[a:b]])),
            Lazy(total, parents),
            Lazy(total, lambda a, b: [_ROLE[r] for r in m.role[a:b].tolist()]),
            Lazy(total, lambda a, b: content.texts(np.arange(a, b))),
            Lazy(total, sources),
            Lazy(total, meta),
            Lazy(total, lambda a, b: ts(m.time[a:b])),
        ],
        wire=["uuid", "uuid", "uuid", "text", "text", "jsonb", "jsonb", "timestamptz"],
    )


def _conversations_table(ctx, conv_ids, user_txt, start, first_question: np.ndarray, content: _Content) -> Table:
    """The web client creates 'New Chat', then renames it to the first question's first 50 characters."""
    rng, n_conv = ctx.rng, len(start)
    untitled = rng.random(n_conv) < ctx.p("conversations.untitled_share")
    renamed_at = np.minimum(start + rng.integers(300_000, 3 * US, n_conv), ctx.as_of)
    null_meta = rng.random(n_conv) < NULL_METADATA_SHARE
    first = content.pool_i[first_question]
    updated = np.where(untitled, start, renamed_at)

    def titles(a: int, b: int) -> list[str]:
        return [
            "New Chat" if u else esc(title_of(content.raw_questions[q]))
            for u, q in zip(untitled[a:b].tolist(), first[a:b].tolist())
        ]

    columns = [
        Lazy(n_conv, lambda a, b: texts(conv_ids[a:b])),
        Lazy(n_conv, lambda a, b: texts(user_txt[a:b])),
        Lazy(n_conv, titles),
        Lazy(n_conv, lambda a, b: np.where(null_meta[a:b], "null", "{}").tolist()),
        Lazy(n_conv, lambda a, b: ts(start[a:b])),
        Lazy(n_conv, lambda a, b: ts(updated[a:b])),
    ]
    return Table("conversations", ["id", "user_id", "title", "metadata", "created_at", "updated_at"], columns)


def _mirror_table(ctx: Ctx, m: _Msgs, n_spine: int, start, conv_ids, content: _Content) -> Table:
    """The Rust API mirrored the linear part of early conversations into `messages`, then stopped."""
    mir = np.flatnonzero(start[m.conv[:n_spine]] < _mirror_cutoff(ctx, start, m.conv[:n_spine]))
    mir_ids = uuids(ctx.rng, len(mir), compact=True)
    n = len(mir)
    return Table(
        "messages",
        ["id", "conversation_id", "role", "content", "metadata", "created_at"],
        [
            Lazy(n, lambda a, b: texts(mir_ids[a:b])),
            Lazy(n, lambda a, b: texts(conv_ids[m.conv[mir[a:b]]])),
            Lazy(n, lambda a, b: [_ROLE[r] for r in m.role[mir[a:b]].tolist()]),
            Lazy(n, lambda a, b: content.texts(mir[a:b])),
            Lazy(n, lambda a, b: ['{"source": "api"}'] * (b - a)),
            Lazy(n, lambda a, b: ts(m.time[mir[a:b]])),
        ],
    )


def generate(ctx: Ctx, people: People, citable: Citable) -> list[Table]:
    """Rows of conversations, chat_messages, messages and user_memories."""
    n_conv = ctx.p("conversations.count")
    user_txt, owner, start = _starts(ctx, people, n_conv)
    conv_ids = uuids(ctx.rng, n_conv, compact=True)
    topic = ctx.rng.integers(0, len(words("topics")), n_conv)
    m, length, n_spine = _trees(ctx, start)
    ids = uuids(ctx.rng, len(m.conv), compact=True)
    content = _content(ctx, m, topic)
    chat = _chat_table(ctx, citable, m, ids, conv_ids, content)
    convs = _conversations_table(ctx, conv_ids, user_txt, start, group_starts(length), content)
    last_msg = start.copy()
    np.maximum.at(last_msg, m.conv, m.time)
    messages = _mirror_table(ctx, m, n_spine, start, conv_ids, content)
    return [convs, chat, messages, memories.table(ctx, people, owner, last_msg, topic)]


def _faults(ctx: Ctx, m: _Msgs) -> None:
    """Plant the data faults a profile asks for (none by default): cross-conversation parents and cycles."""
    rng = ctx.rng
    n_cross = ctx.p("faults.cross_conversation_parents")
    nonroot = np.flatnonzero(m.parent >= 0)
    if n_cross and len(nonroot):
        victims = rng.choice(nonroot, size=min(n_cross, len(nonroot)), replace=False)
        for v in victims.tolist():
            others = np.flatnonzero(m.conv != m.conv[v])
            if len(others):
                m.parent[v] = others[int(rng.integers(0, len(others)))]
    n_cyc = ctx.p("faults.cycles")
    if n_cyc:
        has_child = np.unique(m.parent[m.parent >= 0])
        roots = np.flatnonzero((m.parent < 0) & np.isin(np.arange(len(m.conv)), has_child))
        for r in rng.choice(roots, size=min(n_cyc, len(roots)), replace=False).tolist():
            child = np.flatnonzero(m.parent == r)[0]
            m.parent[r] = child  # root ↔ child: a two-message cycle inside one conversation
