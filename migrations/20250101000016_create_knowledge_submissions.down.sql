DROP TABLE knowledge_submissions;
