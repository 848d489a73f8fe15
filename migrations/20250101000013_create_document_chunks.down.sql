DROP TABLE document_chunks;
