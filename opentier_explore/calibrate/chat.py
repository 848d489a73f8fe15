"""Conversations and their message trees: how long, how they branch, what they cite, the `messages` mirror."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import config
from ..metrics import _trees_sql
from .entries import Entries
from .frame import Frame, binned, capped, histogram, row, stat
from .release import Stat, merge_small
from .snapshot import Schema, at_once

if TYPE_CHECKING:
    import psycopg

MAX_LEN = 200  # main-path lengths at or beyond this share the last cell
SLICES = 100  # slices of the history for the mirror's cut-off

_CONVS = "{convs}"
_MSGS = """(SELECT m.* FROM (SELECT m.*, row_number() OVER (PARTITION BY c.user_id ORDER BY m.created_at, m.id) AS _rn
           FROM chat_messages m JOIN {convs} c ON c.id = m.conversation_id) m WHERE _rn <= {cap})"""

#: One part of the conversations (`{msgs}`): the lengths of their first-attempt paths (rows 'len', cell, count) and
#: their branch counts (rows 'branch', 1..7, value), both from one join of each message to a parent in its conversation.
_TREE_PART = """
WITH RECURSIVE e AS MATERIALIZED (SELECT id, parent_id, conversation_id, role, created_at FROM {msgs} x),
edges AS MATERIALIZED (
    SELECT c.parent_id, c.id, c.role, c.created_at FROM e c JOIN e p ON p.id = c.parent_id AND p.conversation_id = c.conversation_id
),
first_child AS MATERIALIZED (SELECT DISTINCT ON (parent_id) parent_id, id FROM edges ORDER BY parent_id, created_at, id),
first_root AS (
    SELECT DISTINCT ON (conversation_id) conversation_id, id, role FROM e WHERE parent_id IS NULL
    ORDER BY conversation_id, created_at, id
),
-- The first-attempt path: from the earliest root, always the earliest child (later siblings are alternatives).
walk(id, conversation_id, len) AS (
    SELECT id, conversation_id, CASE WHEN role = 'system' THEN 0 ELSE 1 END FROM first_root
  UNION ALL
    SELECT f.id, w.conversation_id, w.len + 1 FROM walk w JOIN first_child f ON f.parent_id = w.id WHERE w.len < 1000
),
per AS (SELECT conversation_id, max(len) AS len FROM walk GROUP BY conversation_id),
kids AS (SELECT parent_id, count(*) AS n, bool_and(role = 'assistant') AS aa, bool_and(role = 'user') AS au
         FROM edges GROUP BY parent_id HAVING count(*) >= 2),
roots AS (SELECT conversation_id, count(*) AS n FROM e WHERE parent_id IS NULL GROUP BY 1 HAVING count(*) >= 2)
SELECT 'len', least(len, {max_len}), count(*) FROM per WHERE len >= 1 GROUP BY 2
UNION ALL
SELECT 'branch', k, v FROM (VALUES
    (1, (SELECT count(*) FROM kids WHERE aa)), (2, (SELECT coalesce(sum(n - 1), 0) FROM kids WHERE aa)),
    (3, (SELECT count(*) FROM kids WHERE au)), (4, (SELECT coalesce(sum(n - 1), 0) FROM kids WHERE au)),
    (5, (SELECT count(*) FROM roots)), (6, (SELECT coalesce(sum(n - 1), 0) FROM roots)), (7, (SELECT count(*) FROM kids))
) b(k, v)
"""
_LENGTHS_FLAT = """
SELECT least(count(*) FILTER (WHERE role <> 'system'), {max_len}), count(*) FROM {msgs} x GROUP BY conversation_id
"""
#: Answers citing sources. A `sources` value stored in more than 1 kB (pg_column_size: its stored size, read without
#: decompressing it) is counted as a non-empty array unread — the services write arrays, and decompressing every
#: answer's cited chunk texts took 6 of calibration's 20 s on `large`; smaller values are checked exactly.
_ROLES = """
SELECT count(*) FILTER (WHERE role = 'user'), count(*) FILTER (WHERE role = 'assistant'),
       count(*) FILTER (WHERE role = 'assistant' AND CASE WHEN pg_column_size(sources) > 1024 THEN true
                        ELSE jsonb_typeof(sources::jsonb) = 'array' AND jsonb_array_length(sources::jsonb) > 0 END)
FROM {msgs} x
"""
_CONV_ROWS = """
WITH mirrored AS (SELECT DISTINCT conversation_id FROM messages),
known AS (SELECT id::text AS uid FROM users)
SELECT count(*), count(*) FILTER (WHERE k.uid IS NULL),
       count(*) FILTER (WHERE c.title = 'New Chat'),
       count(*) FILTER (WHERE c.id IN (SELECT conversation_id FROM mirrored)),
       (SELECT count(DISTINCT c2.user_id) FROM {convs} c2 JOIN known k2 ON k2.uid = c2.user_id),
       (SELECT count(*) FROM user_memories)
FROM {convs} c LEFT JOIN known k ON k.uid = c.user_id
"""
_CONV_TIMES = """
SELECT width_bucket(extract(epoch FROM created_at), extract(epoch FROM %(start)s::timestamptz),
                    extract(epoch FROM %(as_of)s::timestamptz), {slices}), count(*) FROM {convs} c GROUP BY 1
"""


def _sources(frame: Frame) -> tuple[str, str]:
    convs = capped("conversations", "user_id", frame.cap)
    msgs = "chat_messages" if frame.cap is None else _MSGS.format(convs=convs, cap=int(frame.cap))
    return convs, msgs


def measure(conn: psycopg.Connection, schema: Schema, frame: Frame) -> dict[str, Stat]:
    """Conversation and message statistics (rows bounded per owner when noise is added)."""
    if not schema.has("chat_messages", "conversation_id", "role") or not schema.has("conversations", "user_id"):
        return {}
    p = frame.params()
    convs, msgs = _sources(frame)
    cap = frame.cap or 1
    tree = schema.has("chat_messages", "parent_id")
    if tree:
        lengths_hist, branches = _tree_stats(conn, msgs, p)
    else:  # one GROUP BY, not a walk: the server's defaults
        lengths_hist = histogram(conn, _LENGTHS_FLAT.format(msgs=msgs, max_len=MAX_LEN), p, MAX_LEN)
    out = {
        "chat.lengths": stat(lengths_hist, cap),
        "chat.roles": stat(row(conn, _ROLES.format(msgs=msgs), p), 2 * cap),
        "chat.conversations": stat(row(conn, _CONV_ROWS.format(msgs=msgs, convs=convs), p), 4 * cap + 2),
        "chat.started": stat(histogram(conn, _CONV_TIMES.format(convs=convs, slices=SLICES), p, SLICES), cap),
    }
    if tree:
        out["chat.branches"] = stat(branches, 7 * cap)
    if schema.has("messages", "conversation_id"):
        out["chat.mirror_rows"] = stat(row(conn, _mirror_rows(frame.cap, convs), p), cap)
    return out


def _tree_stats(conn: psycopg.Connection, msgs: str, p: dict) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The lengths histogram and the branch counts, in config.TREE_WALK_PARTS parts of the conversations at once, on
    connections of `conn`'s snapshot (both sum over conversations, so parts add up)."""
    parts = config.TREE_WALK_PARTS
    rows, multiplier = conn.execute(_trees_sql.WALK_SIZES_SQL).fetchone()
    settings = _trees_sql.walk_settings(rows / parts, multiplier)
    columns = ("id", "parent_id", "conversation_id", "role", "created_at")

    def part(i: int):
        def job(c: psycopg.Connection) -> tuple[tuple[float, ...], tuple[float, ...]]:
            for name, value in settings.items():
                c.execute(f"SET LOCAL {name} = '{value}'")
            sql = _TREE_PART.format(msgs=_trees_sql.part(msgs, i, parts, columns), max_len=MAX_LEN)
            rows = c.execute(sql, p).fetchall()
            lengths = binned([r[1:] for r in rows if r[0] == "len"], MAX_LEN)
            return lengths, binned([r[1:] for r in rows if r[0] == "branch"], 7)

        return job

    results = at_once(conn, [part(i) for i in range(parts)])
    return tuple(tuple(float(sum(cells)) for cells in zip(*kind)) for kind in zip(*results))


def _mirror_rows(cap: int | None, convs: str) -> str:
    """SQL counting the `messages` rows, at most `cap` per conversation owner when noise is added (the twin's
    `mirror_rows`)."""
    if cap is None:
        return "SELECT count(*) FROM messages"
    return (
        "SELECT count(*) FROM (SELECT row_number() OVER (PARTITION BY c.user_id ORDER BY m.created_at) AS rn "
        f"FROM messages m JOIN {convs} c ON c.id = m.conversation_id) x WHERE rn <= {int(cap)}"
    )


def _lengths(out: Entries) -> None:
    counts = out.rel.vector("chat.lengths")
    groups = merge_small(counts, out.rel.min_count)
    if not groups:
        out.fallback("conversations.length_weights", "suppressed", "suppressed: fewer than K conversations")
        return
    # A merged cell's weight goes to the length at its middle (cells are lengths 1..MAX_LEN).
    pairs = [[int(round((a + b) / 2)) + 1, int(round(t))] for a, b, t in groups]
    out.put(
        "conversations.length_weights",
        pairs,
        "conversations by messages on their first-attempt path (earliest root, then always the earliest child; "
        "system prompt excluded); cells below K merged",
    )
    top = max(a for a, _ in pairs)
    out.put(
        "conversations.max_depth",
        int(min(1000, max(2, top + 1))),
        "the longest merged length cell, plus the system prompt",
    )
    odd = sum(t for (a, b, t) in groups if a == b and a % 2 == 0)  # length a + 1 odd: ends on a question
    out.share("conversations.unanswered_share", odd, counts.sum(), "conversations whose main path ends on a question")


def _branches(out: Entries, user_msgs: float, assistant_msgs: float) -> None:
    rel = out.rel
    if not rel.has("chat.branches"):
        out.missing(
            (
                "conversations.regenerate_prob",
                "conversations.edit_prob",
                "faults.cross_conversation_parents",
                "faults.cycles",
            ),
            "no chat_messages.parent_id in this generation (linear conversations)",
        )
        return
    _bp_a, extra_a, _bp_u, extra_u, _bp_r, extra_r, _bp = rel.vector("chat.branches").tolist()
    edits = extra_u + extra_r
    # Each regenerated answer / edited question is one extra sibling beside the first attempt.
    out.share(
        "conversations.regenerate_prob",
        extra_a,
        assistant_msgs - extra_a if assistant_msgs > extra_a else 0,
        "extra assistant siblings per first-attempt answer",
    )
    out.share(
        "conversations.edit_prob",
        edits,
        user_msgs - edits if user_msgs > edits else 0,
        "extra user siblings (and extra roots) per first-attempt question",
    )
    out.put("faults.cross_conversation_parents", 0, "no faults are planted in a twin")
    out.put("faults.cycles", 0, "no faults are planted in a twin")


def _mirror(out: Entries, mirrored: float, n: float) -> None:
    rel = out.rel
    if not rel.has("chat.mirror_rows"):
        out.missing(("conversations.mirror_share",), "no messages table")
        return
    out.share("conversations.mirror_conversation_share", mirrored, n, "conversations with rows in `messages`")
    # Which conversations: the oldest, as many as hold the table's rows (a share of them would leave the rows to the
    # lengths the twin happens to draw for its oldest conversations: boom's ±5 %).
    out.count("conversations.mirror_rows", rel.scalar("chat.mirror_rows"), "rows of `messages`")
    started = rel.vector("chat.started")
    if not rel.enough(mirrored, started.sum()):
        out.fallback("conversations.mirror_share", "suppressed", "suppressed: fewer than K mirrored conversations")
        return
    cum = np.concatenate([[0.0], np.cumsum(started)])
    cut = float(np.interp(min(mirrored, cum[-1]), cum, np.linspace(0, 1, len(cum))))
    out.number(
        "conversations.mirror_share",
        cut,
        "the share of history holding as many conversations as `messages` "
        "mirrors (for hand edits; mirror_conversation_share is what seeding uses)",
        low=0.0,
        high=1.0,
    )


def estimate(out: Entries) -> None:
    """Profile keys of [conversations], [faults] and [memories]."""
    rel = out.rel
    keys = (
        "conversations.count",
        "conversations.orphan_share",
        "conversations.untitled_share",
        "conversations.sources_share",
        "conversations.mirror_share",
        "conversations.length_weights",
        "conversations.max_depth",
        "conversations.unanswered_share",
        "conversations.regenerate_prob",
        "conversations.edit_prob",
        "memories.share",
        "faults.cross_conversation_parents",
        "faults.cycles",
    )
    for key in ("conversations.long_share", "conversations.short_mean_turns", "conversations.long_mean_turns"):
        out.fallback(key, "unused", "not used: conversations.length_weights holds the length distribution")
    if not rel.has("chat.conversations"):
        out.missing(keys, "no conversations/chat_messages tables")
        return
    n, orphans, untitled, mirrored, owners, memories = rel.vector("chat.conversations").tolist()
    user_msgs, assistant_msgs, cited = rel.vector("chat.roles").tolist()
    out.count("conversations.count", n, "count of conversations")
    out.share("conversations.orphan_share", orphans, n, "conversations whose user_id matches no user")
    out.share(
        "conversations.untitled_share",
        untitled,
        n,
        "conversations never renamed (still the web client's default title)",
    )
    out.share("conversations.sources_share", cited, assistant_msgs, "assistant messages citing ≥ 1 source")
    out.share("memories.share", memories, owners, "user_memories rows per user who chatted")
    # The twin's users who chat are not the source's number: the rows themselves (for hand edits, the share above).
    out.count("memories.count", memories, "count of user_memories")
    _lengths(out)
    _branches(out, user_msgs, assistant_msgs)
    _mirror(out, mirrored, n)
