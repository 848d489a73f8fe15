"""The tree metrics' statements for PostgreSQL: one read-only statement each, legal on a hot standby (no temporary tables).

Each template starts `WITH RECURSIVE {prelude}` and reads the edges from `{edges}` (see `fill`): the table
`chat_messages` itself, so that PostgreSQL can use its indexes (the messages of one conversation, a message by
id); or, for the Feb-2026 generation, a CTE `e` that synthesizes parent_id once.
Only the walk from the roots is recursive. It joins the table on (parent_id, conversation_id): one hash of the
table, built once and probed by every level; every other pass is over the walk's rows or over the few messages
it does not reach. FAULTS walks only the conversations that one join of every message to its parent leaves in doubt.
A recursive walk runs in one server process; conversation_trees and message_depths run over `part`s of the
conversations on several connections at once (each part read once into `e`: a hash of half the edges for each walk).
"""

from __future__ import annotations

import math

#: the walk from the roots along tree edges (a parent in the same conversation), with each message's depth
_WALK = """
walk(id, conversation_id, depth) AS (
    SELECT id, conversation_id, 1 FROM {edges} WHERE parent_id IS NULL
  UNION ALL
    SELECT c.id, c.conversation_id, w.depth + 1
    FROM walk w JOIN {edges} c ON c.parent_id = w.id AND c.conversation_id = w.conversation_id
)"""

#: the messages the walk misses (`cand`: on or under a cycle, or under a faulty message), looked for only in the
#: conversations where the walk reached fewer messages than there are (`short`). Usually it reached them all: one
#: count of each says so, and the gate (an uncorrelated condition, planned as a one-time filter) skips the rest.
_UNROOTED = """,
msgs AS MATERIALIZED (SELECT conversation_id, count(*) AS n_messages FROM {edges} GROUP BY conversation_id),
short AS MATERIALIZED (
    SELECT m.conversation_id
    FROM msgs m LEFT JOIN (SELECT conversation_id, count(id) AS n FROM walk GROUP BY conversation_id) r USING (conversation_id)
    WHERE (SELECT count(id) FROM walk) < {total} AND (r.conversation_id IS NULL OR r.n < m.n_messages)
),
reached AS MATERIALIZED (SELECT w.id FROM walk w WHERE w.conversation_id IN (SELECT conversation_id FROM short)),
cand AS MATERIALIZED (
    SELECT m.id, m.parent_id, m.conversation_id FROM {edges} m
    WHERE m.conversation_id IN (SELECT conversation_id FROM short) AND NOT EXISTS (SELECT 1 FROM reached r WHERE r.id = m.id)
)"""

#: A parent's children come from one count of every parent_id (`branchy`: the parents of two or more, an index-only
#: scan where chat_messages is vacuumed), which the walk looks up as it goes. The walk is a LEFT JOIN: a message
#: without a tree-edge child adds a marker row (id NULL, one level below it), so leaves and depths come from the
#: markers, and only markers, roots and branchy rows are aggregated. A rooted parent's children in another
#: conversation (`xkids`, found among `cand`) are taken off its count; unrooted messages' children come from `cand`.
TREES = (
    """WITH RECURSIVE {prelude}
branchy AS MATERIALIZED (
    SELECT parent_id AS id, count(*) AS k FROM {edges} WHERE parent_id IS NOT NULL GROUP BY parent_id HAVING count(*) >= 2
),
walk(id, conversation_id, depth, k) AS (
    SELECT r.id, r.conversation_id, 1, b.k FROM {edges} r LEFT JOIN branchy b ON b.id = r.id WHERE r.parent_id IS NULL
  UNION ALL
    SELECT c.id, w.conversation_id, w.depth + 1, b.k
    FROM walk w LEFT JOIN {edges} c ON c.parent_id = w.id AND c.conversation_id = w.conversation_id
         LEFT JOIN branchy b ON b.id = c.id
    WHERE w.id IS NOT NULL
)"""
    + _UNROOTED.replace("{total}", "(SELECT sum(n_messages) FROM msgs)")
    + """,
xkids AS (
    SELECT c.parent_id AS id, count(*) AS n
    FROM cand c JOIN {edges} p ON p.id = c.parent_id AND p.conversation_id <> c.conversation_id GROUP BY c.parent_id
),
rooted AS (
    SELECT w.conversation_id, count(*) FILTER (WHERE w.depth = 1) AS n_roots, max(w.depth) FILTER (WHERE w.id IS NULL) - 1 AS max_depth,
           count(*) FILTER (WHERE w.id IS NULL) AS n_leaves, count(*) FILTER (WHERE w.k - coalesce(x.n, 0) >= 2) AS n_branch_points,
           max(w.k - coalesce(x.n, 0)) AS max_children
    FROM walk w LEFT JOIN xkids x ON x.id = w.id
    WHERE w.id IS NULL OR w.depth = 1 OR w.k IS NOT NULL
    GROUP BY w.conversation_id
),
ukids AS (
    SELECT p.id, count(*) AS n
    FROM cand c JOIN cand p ON p.id = c.parent_id AND p.conversation_id = c.conversation_id
    GROUP BY p.id
),
unrooted AS (
    SELECT c.conversation_id, count(*) AS n_cand, count(k.n) AS with_kids, count(*) FILTER (WHERE k.n >= 2) AS n_branch_points,
           max(k.n) AS max_children
    FROM cand c LEFT JOIN ukids k ON k.id = c.id GROUP BY c.conversation_id
)
SELECT m.conversation_id::text AS conversation_id, m.n_messages, coalesce(r.n_roots, 0) AS n_roots, r.max_depth,
       coalesce(r.n_leaves, 0) + coalesce(u.n_cand, 0) - coalesce(u.with_kids, 0) AS n_leaves,
       coalesce(r.n_branch_points, 0) + coalesce(u.n_branch_points, 0) AS n_branch_points,
       greatest(coalesce(r.max_children, 0), (coalesce(r.max_depth, 0) >= 2)::int, coalesce(u.max_children, 0)) AS max_children
FROM msgs m LEFT JOIN rooted r USING (conversation_id) LEFT JOIN unrooted u USING (conversation_id)
"""
)

#: One pass over the edges (a hash join of every message to its parent, parallel where PostgreSQL can) finds the
#: heads (`odd` with a fault: a parent missing or in another conversation) and the conversations that could hold a
#: cycle: following parents around a cycle cannot always go back in (created_at, id) order, so every cycle has a
#: tree edge whose parent is not older than its child. Only those conversations (`sub`) are walked from their
#: roots; among the messages the walk misses (`tree`, heads excepted), a walk up from each message stops at a
#: message of smaller rank (a hash of the id, so that no numbering of ids makes walks long), so only the
#: smallest-ranked message of a cycle comes back to itself; expected walks are short, and CYCLE stops any that
#: would go round forever.
FAULTS = """WITH RECURSIVE {prelude}
odd AS MATERIALIZED (
    SELECT c.id, c.conversation_id,
           CASE WHEN p.id IS NULL THEN 'missing_parent'
                WHEN p.conversation_id <> c.conversation_id THEN 'cross_conversation_parent' END AS fault
    FROM {edges} c LEFT JOIN {edges} p ON p.id = c.parent_id
    WHERE c.parent_id IS NOT NULL
      AND (p.id IS NULL OR p.conversation_id <> c.conversation_id
           OR ((p.created_at, p.id) < (c.created_at, c.id)) IS NOT TRUE)
),
sub AS MATERIALIZED (
    SELECT id, conversation_id, parent_id FROM {edges}
    WHERE conversation_id IN (SELECT conversation_id FROM odd WHERE fault IS NULL)
),
walk(id, conversation_id) AS (
    SELECT id, conversation_id FROM sub WHERE parent_id IS NULL
  UNION ALL
    SELECT c.id, c.conversation_id FROM walk w JOIN sub c ON c.parent_id = w.id AND c.conversation_id = w.conversation_id
),
tree AS MATERIALIZED (
    SELECT id, parent_id, conversation_id, (hashtextextended(id::text, 0), id) AS rk
    FROM sub s
    WHERE NOT EXISTS (SELECT 1 FROM walk w WHERE w.id = s.id)
      AND NOT EXISTS (SELECT 1 FROM odd h WHERE h.id = s.id AND h.fault IS NOT NULL)
),
up(start, srk, cur) AS (
    SELECT id, rk, parent_id FROM tree
  UNION ALL
    SELECT u.start, u.srk, c.parent_id FROM up u JOIN tree c ON c.id = u.cur WHERE c.rk > u.srk
) CYCLE cur SET looped USING path,
ring(id) AS (
    SELECT DISTINCT start FROM up WHERE cur = start
  UNION
    SELECT c.parent_id FROM ring r JOIN tree c ON c.id = r.id
)
SELECT id::text AS message_id, conversation_id::text AS conversation_id, fault FROM odd WHERE fault IS NOT NULL
UNION ALL
SELECT c.id::text, c.conversation_id::text, 'cycle' FROM tree c WHERE c.id IN (SELECT id FROM ring)
"""

#: each statement's result columns and their Arrow types, for reading it as one COPY (db.read_arrow)
TREES_TYPES = {"conversation_id": "string"} | dict.fromkeys(
    ("n_messages", "n_roots", "max_depth", "n_leaves", "n_branch_points", "max_children"), "int64"
)
FAULTS_TYPES = dict.fromkeys(("message_id", "conversation_id", "fault"), "string")
DEPTHS_TYPES = {"id": "string", "depth": "int64"}

#: the walk's depths and the messages it misses (depth NULL), in id order: sorted before the ids become text, so
#: that the sort's rows stay narrow
DEPTHS = (
    "WITH RECURSIVE {prelude}"
    + _WALK
    + _UNROOTED.replace("{total}", "(SELECT sum(n_messages) FROM msgs)")
    + """
SELECT s.id::text AS id, s.depth FROM (
    SELECT id, depth FROM walk UNION ALL SELECT id, NULL FROM cand ORDER BY id OFFSET 0
) s
"""
)


#: walk_settings' arguments: PostgreSQL's estimate of chat_messages' rows (-1 or 0 before its first ANALYZE, and
#: for a view) and the session's hash_mem_multiplier
WALK_SIZES_SQL = (
    "SELECT (SELECT coalesce(max(c.reltuples), -1) FROM pg_class c WHERE c.oid = to_regclass('chat_messages')), "
    "current_setting('hash_mem_multiplier')::float8"
)


def walk_settings(edge_rows: float, hash_mem_multiplier: float) -> dict[str, str]:
    """SET LOCAL values for a walk over `edge_rows` messages: the edges' hash in memory (config, TREE_HASH_*)."""
    from .. import config

    work = _bytes(config.TREE_WORK_MEM)
    need = max(edge_rows, 0) * config.TREE_HASH_BYTES_PER_EDGE / work
    cap = max(config.TREE_HASH_MEM_MAX_MB * (1 << 20) / work, hash_mem_multiplier)
    multiplier = min(max(hash_mem_multiplier, need), cap)
    return {"work_mem": config.TREE_WORK_MEM, "hash_mem_multiplier": f"{math.ceil(multiplier * 10) / 10:.1f}"}


def _bytes(setting: str) -> int:
    """A PostgreSQL memory setting ('64kB', '256MB', '1GB') in bytes."""
    for unit, factor in (("kB", 1 << 10), ("MB", 1 << 20), ("GB", 1 << 30)):
        if setting.endswith(unit):
            return int(setting.removesuffix(unit)) * factor
    raise ValueError(f"config.TREE_WORK_MEM must end in kB, MB or GB, not {setting!r}")


def part(edges: str, i: int, parts: int, columns: tuple[str, ...] = ("id", "conversation_id", "parent_id")) -> str:
    """The `columns` of the edges of part `i` of `parts` of the conversations, by a hash of conversation_id, as a
    subquery for fill(); `edges` itself when there is one part.

    Every figure of the walks depends only on its conversation's messages, so the parts' results together are the
    whole one; a filter on the partition column of the Feb-2026 generation's window is pushed below the window.
    """
    if parts == 1:
        return edges
    where = (
        f"mod(uuid_hash(conversation_id) & 2147483647, {int(parts)}) = {int(i)}"  # mod(): no % for drivers to misread
    )
    return f"(SELECT {', '.join(columns)} FROM {edges} AS p WHERE {where})"


def fill(template: str, edges: str, columns: tuple[str, ...] = ("id", "conversation_id", "parent_id")) -> str:
    """`template` reading its edges from `edges`: the table `chat_messages`, or a subquery whose `columns` are read
    once into CTE `e`."""
    if edges == "chat_messages":
        return template.replace("{prelude}", "").replace("{edges}", edges)
    prelude = f"e AS MATERIALIZED (SELECT {', '.join(columns)} FROM {edges} AS s),"
    return template.replace("{prelude}", prelude).replace("{edges}", "e")
