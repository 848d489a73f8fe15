DROP TABLE ingestion_jobs;
