CREATE TYPE user_role AS ENUM ('user', 'contributor', 'admin');
CREATE TYPE message_role AS ENUM ('user', 'assistant', 'system');
