DROP TYPE message_role;
DROP TYPE user_role;
