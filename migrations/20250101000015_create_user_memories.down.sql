DROP TABLE user_memories;
