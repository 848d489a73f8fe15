"""A writer thread that keeps inserting related rows, each group in one transaction, as the services would.

Each round commits three transactions: a conversation with its three chat messages (a linear chain),
a knowledge submission together with the new admin who reviewed it, and a user together with a session.
Every row it writes is tagged `writer-…` so tests can find the groups and check none is half there.
"""

from __future__ import annotations

import threading
import time
import uuid

import pandas as pd
import psycopg

TAG = "writer-"


class Writer(threading.Thread):
    """Use as a context manager: writes from `__enter__` until `__exit__`, then re-raises any failure."""

    def __init__(self, url: str) -> None:
        super().__init__(name="opentier-test-writer", daemon=True)
        self.url = url
        self.rounds = 0
        self._halt = threading.Event()
        self._started = threading.Event()
        self.error: BaseException | None = None

    def __enter__(self) -> Writer:
        self.start()
        self._started.wait(30)
        return self

    def __exit__(self, *exc: object) -> None:
        self._halt.set()
        self.join(60)
        if self.error is not None:
            raise self.error

    def wait_rounds(self, n: int, timeout: float = 60) -> None:
        """Block until `n` more rounds have committed."""
        target, deadline = self.rounds + n, time.monotonic() + timeout
        while self.rounds < target and self.error is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert self.rounds >= target, f"the writer stalled ({self.error!r})"

    def run(self) -> None:
        try:
            with psycopg.connect(self.url, autocommit=True) as conn:
                base_sub, base_user, someone = conn.execute(
                    "SELECT (SELECT min(created_at) FROM knowledge_submissions), (SELECT min(created_at) FROM users), "
                    "(SELECT id FROM users ORDER BY id LIMIT 1)"
                ).fetchone()
                self._started.set()
                i = 0
                while not self._halt.is_set():
                    i += 1
                    self._round(conn, i, base_sub, base_user, someone)
                    self.rounds += 1
        except BaseException as exc:  # reported by __exit__ in the test's thread
            self.error = exc
            self._started.set()

    @staticmethod
    def _round(conn: psycopg.Connection, i: int, base_sub, base_user, someone) -> None:
        tag = f"{TAG}{uuid.uuid4()}"
        # Times inside the data's range (never past its latest time), so every metric's as_of stays put.
        when_sub = base_sub + pd.Timedelta(seconds=i)
        when_user = base_user + pd.Timedelta(seconds=i)
        with conn.transaction():
            conv = uuid.uuid4()
            conn.execute(
                "INSERT INTO conversations (id, user_id, title) VALUES (%s, %s, %s)", (conv, str(someone), tag)
            )
            parent = None
            for role in ("user", "assistant", "user"):
                msg = uuid.uuid4()
                conn.execute(
                    "INSERT INTO chat_messages (id, conversation_id, parent_id, role, content) VALUES (%s, %s, %s, %s, %s)",
                    (msg, conv, parent, role, tag),
                )
                parent = msg
        with conn.transaction():
            admin = conn.execute(
                "INSERT INTO users (email, role, created_at) VALUES (%s, 'admin', %s) RETURNING id",
                (f"{tag}@r.test", when_user),
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO knowledge_submissions (contributor_id, title, content, status, reviewed_by, reviewed_at, created_at) "
                "VALUES (%s, %s, %s, 'approved', %s, %s, %s)",
                (someone, tag, tag, admin, when_sub + pd.Timedelta(hours=1), when_sub),
            )
        with conn.transaction():
            user = conn.execute(
                "INSERT INTO users (email, role, created_at) VALUES (%s, 'user', %s) RETURNING id",
                (f"{tag}@s.test", when_user),
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO sessions (user_id, session_token, expires_at, role, created_at) VALUES (%s, %s, %s, 'user', %s)",
                (user, tag, when_user + pd.Timedelta(days=1), when_user + pd.Timedelta(minutes=1)),
            )


def assert_whole(frames: dict[str, pd.DataFrame]) -> int:
    """Every writer group in `frames` is complete (no half-written one); the number of groups seen."""
    conv, chat = frames["conversations"], frames["chat_messages"]
    mine = set(conv.loc[conv["title"].fillna("").str.startswith(TAG), "id"])
    msgs = chat[chat["content"].str.startswith(TAG)]
    per_conv = msgs.groupby("conversation_id").size()
    assert set(per_conv.index) == mine, "chat messages without their conversation, or a conversation without them"
    assert (per_conv == 3).all(), "a conversation with part of its messages"
    users, subs, sessions = frames["users"], frames["knowledge_submissions"], frames["sessions"]
    admins = set(users.loc[users["email"].str.endswith("@r.test") & users["email"].str.startswith(TAG), "id"])
    reviewed = set(subs.loc[subs["title"].str.startswith(TAG), "reviewed_by"])
    assert reviewed == admins, "a submission without its reviewer, or a reviewer without the submission"
    logins = set(users.loc[users["email"].str.endswith("@s.test") & users["email"].str.startswith(TAG), "id"])
    holders = set(sessions.loc[sessions["session_token"].str.startswith(TAG), "user_id"])
    assert holders == logins, "a session without its user, or a user without the session"
    return len(mine) + len(admins) + len(logins)
