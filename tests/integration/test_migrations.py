"""After `migrate` on an empty database, the catalog is exactly the schema of /work/shared/schema.md."""

from __future__ import annotations

import hashlib
import time

import psycopg
import pytest
from _catalog import catalog, ledger

from opentier_explore import config, migrate

# ---- The expected schema, written from schema.md (not read back from the migrations) ----------------------

UUID, TS, TEXT, JSONB, INT, BOOL = "uuid", "timestamp with time zone", "text", "jsonb", "integer", "boolean"
NOW, NEW_UUID, OBJ, ARR = "now()", "gen_random_uuid()", "'{}'::jsonb", "'[]'::jsonb"


def vc(n: int) -> str:
    return f"character varying({n})"


def col(name: str, typ: str, null: bool = False, default: str | None = None) -> tuple:
    return (name, typ, null, default)


ID = col("id", UUID, default=NEW_UUID)
CREATED, UPDATED = col("created_at", TS, default=NOW), col("updated_at", TS, default=NOW)

COLUMNS = {
    "users": [
        ID,
        col("email", vc(255)),
        col("email_verified", BOOL, default="false"),
        col("password_hash", vc(255), True),
        col("name", vc(255), True),
        col("username", vc(100), True),
        col("avatar_url", TEXT, True),
        col("role", "user_role", default="'user'::user_role"),
        col("deleted_at", TS, True),
        CREATED,
        UPDATED,
    ],
    "sessions": [
        ID,
        col("user_id", UUID),
        col("session_token", vc(255)),
        col("expires_at", TS),
        col("role", "user_role", default="'user'::user_role"),
        col("ip_address", "inet", True),
        col("user_agent", TEXT, True),
        CREATED,
        UPDATED,
    ],
    "accounts": [
        ID,
        col("user_id", UUID),
        col("provider", vc(50)),
        col("provider_account_id", vc(255)),
        col("access_token", TEXT, True),
        col("refresh_token", TEXT, True),
        col("expires_at", TS, True),
        col("token_type", vc(50), True),
        col("scope", TEXT, True),
        col("id_token", TEXT, True),
        CREATED,
        UPDATED,
    ],
    "verification_tokens": [
        ID,
        col("user_id", UUID),
        col("token", vc(255)),
        col("otp", vc(6)),
        col("expires_at", TS),
        CREATED,
    ],
    "password_reset_tokens": [ID, col("user_id", UUID), col("token", vc(255)), col("expires_at", TS), CREATED],
    "conversations": [
        col("id", UUID),
        col("user_id", vc(255)),
        col("title", vc(500), True),
        col("metadata", "json", default="'{}'::json"),
        CREATED,
        UPDATED,
    ],
    "messages": [
        ID,
        col("conversation_id", UUID),
        col("role", "message_role"),
        col("content", TEXT),
        col("metadata", JSONB, default=OBJ),
        CREATED,
    ],
    "chat_messages": [
        ID,
        col("conversation_id", UUID),
        col("parent_id", UUID, True),
        col("role", vc(50)),
        col("content", TEXT),
        col("sources", JSONB, default=ARR),
        col("metadata", JSONB, default=OBJ),
        CREATED,
    ],
    "documents": [
        ID,
        col("user_id", vc(255)),
        col("title", vc(500)),
        col("content", TEXT),
        col("document_type", vc(50)),
        col("source_url", vc(1000), True),
        col("metadata", JSONB, default=OBJ),
        col("is_global", BOOL, default="false"),
        CREATED,
        UPDATED,
    ],
    "document_chunks": [
        ID,
        col("document_id", UUID),
        col("content", TEXT),
        col("chunk_index", INT),
        col("embedding", "vector(384)", True),
        col("metadata", JSONB, default=OBJ),
        CREATED,
    ],
    "ingestion_jobs": [
        ID,
        col("user_id", vc(255)),
        col("status", vc(50), default="'queued'::character varying"),
        col("total_documents", INT, default="0"),
        col("processed_documents", INT, default="0"),
        col("failed_documents", INT, default="0"),
        col("errors", JSONB, default=ARR),
        col("progress_percent", "double precision", default="0"),
        col("started_at", TS, default=NOW),
        col("completed_at", TS, True),
    ],
    "user_memories": [
        col("user_id", vc(255)),
        col("memory", TEXT, default="''::text"),
        col("metadata", JSONB, default=OBJ),
        UPDATED,
    ],
    "knowledge_submissions": [
        ID,
        col("contributor_id", UUID),
        col("title", vc(500)),
        col("content", TEXT),
        col("resource_type", vc(50), default="'text'::character varying"),
        col("metadata", JSONB, default=OBJ),
        col("status", vc(20), default="'pending'::character varying"),
        col("admin_feedback", TEXT, True),
        col("reviewed_by", UUID, True),
        col("reviewed_at", TS, True),
        CREATED,
        UPDATED,
    ],
}
LEDGER_COLUMNS = [
    col("version", "bigint"),
    col("description", TEXT),
    col("installed_on", TS, default=NOW),
    col("success", BOOL),
    col("checksum", "bytea"),
    col("execution_time", "bigint"),
]

CASCADE = " ON DELETE CASCADE"


def fk(column: str, table: str, on_delete: str = CASCADE) -> tuple:
    return ("f", f"FOREIGN KEY ({column}) REFERENCES {table}(id){on_delete}")


PK = ("p", "PRIMARY KEY (id)")
# Keyed by (table, constraint name); the unique ones named idx_* carry the index schema.md names.
CONSTRAINTS = {
    **{(t, f"{t}_pkey"): PK for t in COLUMNS if t != "user_memories"},
    ("user_memories", "user_memories_pkey"): ("p", "PRIMARY KEY (user_id)"),
    ("users", "users_email_key"): ("u", "UNIQUE (email)"),
    ("users", "users_username_key"): ("u", "UNIQUE (username)"),
    ("sessions", "idx_sessions_token"): ("u", "UNIQUE (session_token)"),
    ("sessions", "sessions_user_id_fkey"): fk("user_id", "users"),
    ("accounts", "idx_accounts_provider_account"): ("u", "UNIQUE (provider, provider_account_id)"),
    ("accounts", "accounts_user_id_fkey"): fk("user_id", "users"),
    ("verification_tokens", "verification_tokens_token_key"): ("u", "UNIQUE (token)"),
    ("verification_tokens", "verification_tokens_user_id_fkey"): fk("user_id", "users"),
    ("password_reset_tokens", "password_reset_tokens_token_key"): ("u", "UNIQUE (token)"),
    ("password_reset_tokens", "password_reset_tokens_user_id_fkey"): fk("user_id", "users"),
    ("messages", "messages_conversation_id_fkey"): fk("conversation_id", "conversations"),
    ("chat_messages", "chat_messages_conversation_id_fkey"): fk("conversation_id", "conversations"),
    ("chat_messages", "chat_messages_parent_id_fkey"): fk("parent_id", "chat_messages"),
    ("document_chunks", "document_chunks_document_id_fkey"): fk("document_id", "documents"),
    ("knowledge_submissions", "knowledge_submissions_contributor_id_fkey"): fk("contributor_id", "users"),
    ("knowledge_submissions", "knowledge_submissions_reviewed_by_fkey"): fk("reviewed_by", "users", on_delete=""),
    ("_sqlx_migrations", "_sqlx_migrations_pkey"): ("p", "PRIMARY KEY (version)"),
}


def idx(name: str, table: str, using: str, rest: str = "", unique: bool = False) -> tuple[str, str]:
    return name, f"CREATE {'UNIQUE ' if unique else ''}INDEX {name} ON public.{table} USING {using}{rest}"


INDEXES = dict(
    [
        *(idx(f"{t}_pkey", t, "btree (id)", unique=True) for t in COLUMNS if t != "user_memories"),
        idx("user_memories_pkey", "user_memories", "btree (user_id)", unique=True),
        idx("_sqlx_migrations_pkey", "_sqlx_migrations", "btree (version)", unique=True),
        idx("users_email_key", "users", "btree (email)", unique=True),
        idx("users_username_key", "users", "btree (username)", unique=True),
        idx("idx_users_email", "users", "btree (email)"),
        idx("idx_users_username", "users", "btree (username)"),
        idx("idx_users_role", "users", "btree (role)"),
        idx("idx_users_created_at", "users", "btree (created_at)"),
        idx("idx_users_deleted_at", "users", "btree (deleted_at)", " WHERE (deleted_at IS NULL)"),
        idx("idx_sessions_user_id", "sessions", "btree (user_id)"),
        idx("idx_sessions_token", "sessions", "btree (session_token)", unique=True),
        idx("idx_sessions_expires_at", "sessions", "btree (expires_at)"),
        idx("idx_accounts_user_id", "accounts", "btree (user_id)"),
        idx("idx_accounts_provider_account", "accounts", "btree (provider, provider_account_id)", unique=True),
        idx("verification_tokens_token_key", "verification_tokens", "btree (token)", unique=True),
        idx("idx_verification_tokens_token", "verification_tokens", "btree (token)"),
        idx("idx_verification_tokens_user_id", "verification_tokens", "btree (user_id)"),
        idx("idx_verification_tokens_expires_at", "verification_tokens", "btree (expires_at)"),
        idx("password_reset_tokens_token_key", "password_reset_tokens", "btree (token)", unique=True),
        idx("idx_password_reset_tokens_token", "password_reset_tokens", "btree (token)"),
        idx("idx_password_reset_tokens_user_id", "password_reset_tokens", "btree (user_id)"),
        idx("idx_password_reset_tokens_expires_at", "password_reset_tokens", "btree (expires_at)"),
        idx("ix_conversations_user_id", "conversations", "btree (user_id)"),
        idx("ix_messages_conversation_id", "messages", "btree (conversation_id)"),
        idx("idx_chat_messages_conversation_id", "chat_messages", "btree (conversation_id)"),
        idx("idx_chat_messages_created_at", "chat_messages", "btree (created_at DESC)"),
        idx("idx_chat_messages_parent_id", "chat_messages", "btree (parent_id)"),
        idx("idx_documents_user_id", "documents", "btree (user_id)"),
        idx("idx_documents_is_global", "documents", "btree (is_global)"),
        idx("idx_documents_created_at", "documents", "btree (created_at DESC)"),
        idx("idx_document_chunks_document_id", "document_chunks", "btree (document_id)"),
        idx("idx_document_chunks_created_at", "document_chunks", "btree (created_at DESC)"),
        idx(
            "idx_document_chunks_embedding",
            "document_chunks",
            "hnsw (embedding vector_cosine_ops)",
            " WITH (m='16', ef_construction='64')",
        ),
        idx("idx_document_chunks_content_fts", "document_chunks", "gin (to_tsvector('english'::regconfig, content))"),
        idx("idx_ingestion_jobs_user_id", "ingestion_jobs", "btree (user_id)"),
        idx("idx_ingestion_jobs_status", "ingestion_jobs", "btree (status)"),
        idx("idx_knowledge_submissions_status", "knowledge_submissions", "btree (status)"),
        idx("idx_knowledge_submissions_contributor", "knowledge_submissions", "btree (contributor_id)"),
        idx("idx_knowledge_submissions_created_at", "knowledge_submissions", "btree (created_at DESC)"),
    ]
)

ENUMS = {"message_role": ["user", "assistant", "system"], "user_role": ["user", "contributor", "admin"]}

WITH_UPDATED_AT = [t for t, cols in COLUMNS.items() if UPDATED in cols]
TRIGGERS = {
    f"update_{t}_updated_at": f"CREATE TRIGGER update_{t}_updated_at BEFORE UPDATE ON public.{t} "
    "FOR EACH ROW EXECUTE FUNCTION update_updated_at_column()"
    for t in WITH_UPDATED_AT
}


# ---- Tests ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def snapshot(migrated_url: str) -> dict:
    return catalog(migrated_url)


def test_thirteen_tables_plus_the_ledger(snapshot: dict) -> None:
    assert len(COLUMNS) == 13
    assert sorted(snapshot["columns"]) == sorted([*COLUMNS, "_sqlx_migrations"])


@pytest.mark.parametrize("table", sorted(COLUMNS))
def test_columns_types_nullability_defaults(snapshot: dict, table: str) -> None:
    assert snapshot["columns"][table] == COLUMNS[table]


def test_ledger_table_has_sqlx_columns(snapshot: dict) -> None:
    assert snapshot["columns"]["_sqlx_migrations"] == LEDGER_COLUMNS


def test_conversations_id_has_no_default(snapshot: dict) -> None:
    assert snapshot["columns"]["conversations"][0] == ("id", "uuid", False, None)


def test_primary_unique_and_foreign_keys(snapshot: dict) -> None:
    assert snapshot["constraints"] == CONSTRAINTS


def test_reviewed_by_does_not_cascade(migrated_url: str) -> None:
    with psycopg.connect(migrated_url, autocommit=True) as conn:
        rule = conn.execute(
            "SELECT confdeltype FROM pg_constraint WHERE conname = 'knowledge_submissions_reviewed_by_fkey'"
        ).fetchone()[0]
    assert rule == "a"  # NO ACTION


@pytest.mark.parametrize("name", sorted(INDEXES))
def test_index_definition(snapshot: dict, name: str) -> None:
    assert snapshot["indexes"].get(name) == INDEXES[name]


def test_no_other_indexes(snapshot: dict) -> None:
    assert sorted(snapshot["indexes"]) == sorted(INDEXES)


def test_enums_with_labels_in_order(snapshot: dict) -> None:
    assert snapshot["enums"] == ENUMS


def test_triggers(snapshot: dict) -> None:
    assert len(TRIGGERS) == 7
    assert snapshot["triggers"] == TRIGGERS


def test_function_and_extension(snapshot: dict) -> None:
    assert snapshot["functions"] == {"update_updated_at_column": "trigger"}
    assert snapshot["extensions"] == ["vector"]


@pytest.mark.parametrize("table", WITH_UPDATED_AT)
def test_update_moves_updated_at(migrated_url: str, table: str) -> None:
    # NOW() is the transaction's start time: insert and update in separate transactions.
    inserts = {
        "users": ("INSERT INTO users (email) VALUES ('t@example.org') RETURNING id", "email = 'u@example.org'"),
        "sessions": (
            "INSERT INTO sessions (user_id, session_token, expires_at) "
            "SELECT id, 'tok', now() + interval '7 days' FROM users LIMIT 1 RETURNING id",
            "user_agent = 'x'",
        ),
        "accounts": (
            "INSERT INTO accounts (user_id, provider, provider_account_id) "
            "SELECT id, 'github', '1' FROM users LIMIT 1 RETURNING id",
            "scope = 'repo'",
        ),
        "conversations": (
            "INSERT INTO conversations (id, user_id) VALUES (gen_random_uuid(), 'u') RETURNING id",
            "title = 't'",
        ),
        "documents": (
            "INSERT INTO documents (user_id, title, content, document_type) VALUES ('u', 't', 'c', 'text') RETURNING id",
            "title = 't2'",
        ),
        "user_memories": ("INSERT INTO user_memories (user_id) VALUES ('u1') RETURNING user_id", "memory = 'm'"),
        "knowledge_submissions": (
            "INSERT INTO knowledge_submissions (contributor_id, title, content) "
            "SELECT id, 't', 'c' FROM users LIMIT 1 RETURNING id",
            "status = 'approved'",
        ),
    }
    if table != "users":
        with psycopg.connect(migrated_url, autocommit=True) as conn:
            conn.execute("INSERT INTO users (email) VALUES (%s) ON CONFLICT DO NOTHING", (f"{table}@example.org",))
    insert, assignment = inserts[table]
    key = "user_id" if table == "user_memories" else "id"
    with psycopg.connect(migrated_url, autocommit=True) as conn:
        row_id = conn.execute(insert).fetchone()[0]
        before = conn.execute(f"SELECT updated_at FROM {table} WHERE {key} = %s", (row_id,)).fetchone()[0]
        # Wait until the clock has visibly moved so a later NOW() must differ.
        while conn.execute("SELECT clock_timestamp() > %s", (before,)).fetchone()[0] is False:
            time.sleep(0.001)
        conn.execute(f"UPDATE {table} SET {assignment} WHERE {key} = %s", (row_id,))
        after = conn.execute(f"SELECT updated_at FROM {table} WHERE {key} = %s", (row_id,)).fetchone()[0]
        conn.execute(f"DELETE FROM {table} WHERE {key} = %s", (row_id,))
    assert after > before


def test_ledger_one_row_per_up_file(migrated_url: str) -> None:
    ups = sorted(config.migrations_dir().glob("*.up.sql"))
    rows = ledger(migrated_url)
    assert len(rows) == len(ups) == 16
    for path, (version, description, success, checksum, execution_time) in zip(ups, rows):
        stem = path.name.removesuffix(".up.sql")
        assert version == int(stem.split("_", 1)[0])
        assert description == stem.split("_", 1)[1].replace("_", " ")
        assert success is True
        assert checksum == hashlib.sha384(path.read_bytes()).digest()
        assert execution_time > 0


def test_second_migrate_applies_nothing(migrated_url: str) -> None:
    before = ledger(migrated_url)
    assert migrate.up(migrated_url) == []
    assert ledger(migrated_url) == before
    assert {s.state for s in migrate.status(migrated_url)} == {"applied"}
    migrate.require_migrated(migrated_url)
