"""The schema tour's measurements on a hand-built database with known answers."""

from __future__ import annotations

import psycopg
import pytest

from opentier_explore import connect, tour

U1, U2 = "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"
C1, C2, C3 = (f"00000000-0000-4000-8000-0000000000c{i}" for i in (1, 2, 3))


@pytest.fixture(scope="module")
def engine(migrated_url: str):
    with psycopg.connect(migrated_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO users (id, email, role) VALUES (%s, 'a@x.test', 'user'), (%s, 'b@x.test', 'admin')", (U1, U2)
        )
        conn.execute(
            "INSERT INTO conversations (id, user_id) VALUES (%s, %s), (%s, %s), (%s, 'deleted-user-42')",
            (C1, U1, C2, U2, C3),
        )
        conn.execute(
            """INSERT INTO chat_messages (conversation_id, role, content) VALUES
               (%s, 'user', 'hi'), (%s, 'assistant', 'hello'), (%s, 'user', 'q'), (%s, 'user', 'lost 1'), (%s, 'assistant', 'lost 2')""",
            (C1, C1, C2, C3, C3),
        )
        conn.execute(
            "INSERT INTO messages (conversation_id, role, content) VALUES (%s, 'user', 'hi'), (%s, 'user', 'only here')",
            (C1, C2),
        )
    eng = connect(migrated_url)
    yield eng
    eng.dispose()


def test_table_sizes_are_exact_and_skip_bookkeeping(engine) -> None:
    sizes = tour.table_sizes(engine)
    assert len(sizes) == 13 and "_sqlx_migrations" not in sizes.index
    assert sizes.loc["chat_messages", "rows"] == 5
    assert sizes.loc["conversations", "rows"] == 3
    assert sizes.loc["users", "columns"] == 11
    assert sizes.index[0] == "chat_messages"  # largest first


def test_relations_list_foreign_keys_and_loose_links(engine) -> None:
    rel = tour.relations(engine).set_index(["table", "column"])
    assert rel.loc[("chat_messages", "parent_id"), "references"] == "chat_messages"
    assert rel.loc[("knowledge_submissions", "reviewed_by"), "on_delete"] == "NO ACTION"
    assert rel.loc[("sessions", "user_id"), "on_delete"] == "CASCADE"
    assert rel.loc[("conversations", "user_id"), "kind"] == "text, no foreign key"
    assert (rel["kind"] == "foreign key").sum() == 10


def test_orphan_conversations(engine) -> None:
    orphans = tour.orphan_conversations(engine)
    assert orphans["conversations"] == 3
    assert orphans["orphan_conversations"] == 1
    assert orphans["chat_messages_in_orphans"] == 2
    assert orphans["orphan_share"] == round(1 / 3, 4)


def test_message_split(engine) -> None:
    split = tour.message_split(engine)
    assert split["chat_messages"] == 5 and split["messages"] == 2
    assert split["messages_mirroring_chat"] == 1
    assert split["messages_without_chat_message"] == 1
    assert split["conversations_with_chat_messages"] == 3 and split["conversations_with_messages"] == 2
    assert split["mirrored_share"] == 0.2


def test_monthly_messages(engine, migrated_url: str) -> None:
    import datetime as dt

    with psycopg.connect(migrated_url, autocommit=True) as conn:
        # A second month: one old chat message (added last: the other tests count rows).
        conn.execute(
            "INSERT INTO chat_messages (conversation_id, role, content, created_at) VALUES (%s, 'user', 'old', %s)",
            (C1, dt.datetime(2020, 1, 15, tzinfo=dt.UTC)),
        )
    monthly = tour.monthly_messages(engine)
    assert monthly.loc["2020-01"].tolist() == [1, 0]
    assert monthly["chat_messages"].sum() == 6 and monthly["messages"].sum() == 2
