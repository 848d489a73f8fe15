CREATE TABLE conversations (
    -- No default: the caller provides the UUID.
    id UUID PRIMARY KEY,
    -- Not a foreign key: a users.id as text, so either service can write conversations.
    user_id VARCHAR(255) NOT NULL,
    title VARCHAR(500),
    metadata JSON NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE INDEX ix_conversations_user_id ON conversations (user_id);

CREATE TRIGGER update_conversations_updated_at
    BEFORE UPDATE ON conversations
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
