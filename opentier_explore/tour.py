"""The schema tour's measurements: table sizes, relations, and the two quirks that matter."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from . import db
from .snapshots import consistent

if TYPE_CHECKING:
    import sqlalchemy

#: Text columns that hold a users.id without a foreign key (loose coupling between the services).
LOOSE_USER_LINKS: tuple[tuple[str, str], ...] = (
    ("conversations", "user_id"),
    ("documents", "user_id"),
    ("ingestion_jobs", "user_id"),
    ("user_memories", "user_id"),
)


@consistent("engine")
def table_sizes(engine: sqlalchemy.Engine) -> pd.DataFrame:
    """Exact row and column counts of every table (bookkeeping tables `_…` left out), largest first."""
    import sqlalchemy

    rows = []
    with db.reading(engine) as conn:
        for table in db.tables(engine):
            quoted = '"' + table.replace('"', '""') + '"'
            n_rows = conn.execute(sqlalchemy.text(f"SELECT count(*) FROM {quoted}")).scalar_one()
            n_cols = conn.execute(
                sqlalchemy.text(
                    "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = :t"
                ),
                {"t": table},
            ).scalar_one()
            rows.append((table, int(n_rows), int(n_cols)))
    frame = pd.DataFrame(rows, columns=["table", "rows", "columns"]).astype({"rows": "int64", "columns": "int64"})
    return frame.sort_values(["rows", "table"], ascending=[False, True], ignore_index=True).set_index("table")


@consistent("engine")
def relations(engine: sqlalchemy.Engine) -> pd.DataFrame:
    """Every foreign key (child column → parent, ON DELETE), then the text columns that point at users without one."""
    fks = db.read_frame(
        engine,
        """SELECT cl.relname AS "table", a.attname AS "column", pl.relname AS "references",
                  CASE c.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT'
                                     WHEN 'r' THEN 'RESTRICT' ELSE 'NO ACTION' END AS on_delete
           FROM pg_constraint c
           JOIN pg_class cl ON cl.oid = c.conrelid
           JOIN pg_class pl ON pl.oid = c.confrelid
           JOIN pg_namespace n ON n.oid = cl.relnamespace
           JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
           WHERE c.contype = 'f' AND n.nspname = current_schema()
           ORDER BY 1, 2""",
    )
    fks["kind"] = "foreign key"
    present = set(db.tables(engine))
    loose = pd.DataFrame(
        [(t, c, "users", "—", "text, no foreign key") for t, c in LOOSE_USER_LINKS if t in present],
        columns=["table", "column", "references", "on_delete", "kind"],
    )
    return pd.concat([fks, loose], ignore_index=True)


@consistent("engine")
def orphan_conversations(engine: sqlalchemy.Engine) -> pd.Series:
    """How many conversations (and their chat messages) name a `user_id` that matches no user."""
    frame = db.read_frame(
        engine,
        """WITH c AS (
               SELECT cv.id, u.id IS NULL AS orphan  -- a join: NOT EXISTS here scanned users once per conversation
               FROM conversations cv LEFT JOIN users u ON u.id::text = cv.user_id)
           SELECT count(*) AS conversations,
                  count(*) FILTER (WHERE orphan) AS orphan_conversations,
                  (SELECT count(*) FROM chat_messages m JOIN c ON c.id = m.conversation_id WHERE c.orphan)
                      AS chat_messages_in_orphans
           FROM c""",
    )
    counts = {k: int(v) for k, v in frame.iloc[0].items()}
    share = counts["orphan_conversations"] / counts["conversations"] if counts["conversations"] else float("nan")
    return pd.Series({**counts, "orphan_share": round(share, 4)}, dtype=object, name="value")


@consistent("engine")
def message_split(engine: sqlalchemy.Engine) -> pd.Series:
    """How far `messages` (Rust API) and `chat_messages` (Intelligence service) diverge.

    `mirrored_share` is the share of chat messages that `messages` mirrors.
    A `messages` row mirrors a chat message when both have the same conversation,
    role (as text) and content, written within a minute of each other (the two
    services stamp their own rows).
    """
    frame = db.read_frame(
        engine,
        """WITH pairs AS (
               SELECT m.id AS message_id, cm.id AS chat_id
               FROM messages m
               JOIN chat_messages cm ON cm.conversation_id = m.conversation_id
                                    AND cm.role = m.role::text AND cm.content = m.content
                                    AND cm.created_at BETWEEN m.created_at - interval '1 minute'
                                                          AND m.created_at + interval '1 minute')
           SELECT (SELECT count(*) FROM chat_messages) AS chat_messages,
                  (SELECT count(*) FROM messages) AS messages,
                  (SELECT count(DISTINCT message_id) FROM pairs) AS messages_mirroring_chat,
                  (SELECT count(*) FROM messages m WHERE NOT EXISTS (SELECT 1 FROM pairs p WHERE p.message_id = m.id))
                      AS messages_without_chat_message,
                  (SELECT count(DISTINCT conversation_id) FROM chat_messages) AS conversations_with_chat_messages,
                  (SELECT count(DISTINCT conversation_id) FROM messages) AS conversations_with_messages""",
    )
    counts = {k: int(v) for k, v in frame.iloc[0].items()}
    share = counts["messages_mirroring_chat"] / counts["chat_messages"] if counts["chat_messages"] else float("nan")
    return pd.Series({**counts, "mirrored_share": round(share, 4)}, dtype=object, name="value")


@consistent("engine")
def monthly_messages(engine: sqlalchemy.Engine) -> pd.DataFrame:
    """Rows written per calendar month (UTC) to `chat_messages` and to `messages`."""
    frame = db.read_frame(
        engine,
        """SELECT month, coalesce(c.n, 0) AS chat_messages, coalesce(m.n, 0) AS messages
           FROM (SELECT date_trunc('month', created_at AT TIME ZONE 'UTC') AS month, count(*) AS n
                 FROM chat_messages GROUP BY 1) c
           FULL JOIN (SELECT date_trunc('month', created_at AT TIME ZONE 'UTC') AS month, count(*) AS n
                      FROM messages GROUP BY 1) m USING (month)
           ORDER BY month""",
    )
    frame["month"] = pd.to_datetime(frame["month"]).dt.tz_localize("UTC").dt.strftime("%Y-%m")
    return frame.set_index("month").astype("int64")
