"""The churn metric's statement for PostgreSQL: one read-only statement, legal on a hot standby.

`CHURN` returns one row: `as_of`, `observed_from` and the orphans' counts as columns, and every other part
(weekly actives, cohort sizes and activity, churned users, the churn rate's counts, activity and sessions per
user, stale role snapshots) as a JSON array ordered by its key; `churn._PARTS` names each part's columns.
Parameters: `as_of` (timestamptz or NULL), `window` (days), `activity` ('chat' or 'sessions').
"""

CHURN = """
WITH events AS (
    SELECT user_id::text AS user_id, created_at, true AS known FROM sessions WHERE CAST(:activity AS text) = 'sessions'
  UNION ALL
    SELECT c.user_id, m.created_at, x.id IS NOT NULL AS known  -- a join: EXISTS here was a scan of users per question
    FROM chat_messages m JOIN conversations c ON c.id = m.conversation_id LEFT JOIN users x ON x.id::text = c.user_id
    WHERE CAST(:activity AS text) = 'chat' AND m.role = 'user'
),
bounds AS (
    SELECT coalesce(CAST(:as_of AS timestamptz), greatest((SELECT max(created_at) FROM events WHERE known),
                                                          (SELECT max(created_at) FROM users))) AS as_of
),
ev AS (SELECT e.user_id, e.created_at, date_trunc('week', e.created_at AT TIME ZONE 'UTC') AS week
       FROM events e, bounds b WHERE e.known AND e.created_at <= b.as_of),
-- each user's activity per week: every figure below reads these rows (a few per user), not every event
uw AS MATERIALIZED (SELECT user_id, week, count(*) AS n, min(created_at) AS first, max(created_at) AS last
                    FROM ev GROUP BY user_id, week),
orphans AS (SELECT count(*) AS n, count(DISTINCT e.user_id) AS k
            FROM events e, bounds b WHERE NOT e.known AND e.created_at <= b.as_of),
s AS (SELECT id, user_id, role, created_at, expires_at FROM sessions, bounds b WHERE created_at <= b.as_of),
u AS (SELECT id, role, created_at, date_trunc('week', created_at AT TIME ZONE 'UTC') AS cohort
      FROM users, bounds b WHERE created_at <= b.as_of),
weekly AS (SELECT week, count(*) AS n FROM uw GROUP BY week),
sizes AS (SELECT cohort, count(*) AS n FROM u GROUP BY cohort),
act AS (SELECT u.cohort AS c, (uw.week::date - u.cohort::date) / 7 AS k, count(*) AS n  -- one row per user and week
        FROM uw JOIN u ON u.id::text = uw.user_id GROUP BY 1, 2),
churned AS (SELECT user_id, max(last) AS last_active_at FROM uw GROUP BY user_id
            HAVING max(last) < (SELECT as_of FROM bounds) - make_interval(hours => 24 * :window)),
week_ends AS (
    SELECT t AT TIME ZONE 'UTC' AS t
    FROM (SELECT min(first) AS first FROM uw) f CROSS JOIN bounds b,
         generate_series(date_trunc('week', f.first AT TIME ZONE 'UTC') + interval '7 days',
                         b.as_of AT TIME ZONE 'UTC', interval '7 days') AS t
),
first_seen AS (SELECT min(first) AS f FROM uw GROUP BY user_id),
seen AS (SELECT w.t, count(f.f) AS n FROM week_ends w LEFT JOIN first_seen f ON f.f < w.t GROUP BY w.t),
-- the week ends t an event at c covers: c < t <= c + window (of a user's events in one week, the last covers most)
covered AS (
    SELECT DISTINCT uw.user_id, t FROM uw CROSS JOIN LATERAL generate_series(
        (uw.week + interval '7 days') AT TIME ZONE 'UTC', uw.last + make_interval(hours => 24 * :window),
        interval '168 hours') AS t
),
active AS (SELECT t, count(*) AS n FROM covered GROUP BY t),
rate AS (SELECT w.t, seen.n AS users_seen, coalesce(active.n, 0) AS active
         FROM week_ends w JOIN seen USING (t) LEFT JOIN active USING (t)),
per_user AS (SELECT u.id::text AS user_id, coalesce(n.n, 0) AS n
             FROM u LEFT JOIN (SELECT user_id, sum(n)::bigint AS n FROM uw GROUP BY 1) n ON n.user_id = u.id::text),
sessions_per_user AS (SELECT u.id::text AS user_id, count(s.id) AS n FROM u LEFT JOIN s ON s.user_id = u.id GROUP BY u.id),
stale AS (
    SELECT s.id::text AS session_id, s.user_id::text AS user_id, s.role::text AS session_role,
           u.role::text AS user_role, s.created_at, s.expires_at
    FROM s JOIN u ON u.id = s.user_id
    WHERE s.expires_at > (SELECT as_of FROM bounds) AND s.role::text <> u.role::text
)
SELECT b.as_of, (SELECT min(first) FROM uw) AS observed_from, o.n AS orphan_events, o.k AS orphan_user_ids,
       (SELECT json_agg(j ORDER BY week) FROM weekly j) AS weekly,
       (SELECT json_agg(j ORDER BY cohort) FROM sizes j) AS sizes,
       (SELECT json_agg(j ORDER BY c, k) FROM act j) AS act,
       (SELECT json_agg(j ORDER BY user_id) FROM churned j) AS churned,
       (SELECT json_agg(j ORDER BY t) FROM rate j) AS rate,
       (SELECT json_agg(j ORDER BY user_id) FROM per_user j) AS per_user,
       (SELECT json_agg(j ORDER BY user_id) FROM sessions_per_user j) AS sessions_per_user,
       (SELECT json_agg(j ORDER BY session_id) FROM stale j) AS stale
FROM bounds b, orphans o
"""
