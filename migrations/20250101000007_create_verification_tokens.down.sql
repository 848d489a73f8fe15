DROP TABLE verification_tokens;
