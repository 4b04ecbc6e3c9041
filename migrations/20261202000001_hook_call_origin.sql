-- Who made each hook call: 'okta' (a user's sign-in) or 'test' (`passbridge hook test`,
-- a hand-made call carrying the test marker). Rows from before this column were written
-- without knowing, and become 'okta'. Only Okta's sign-ins count as migrations.
-- Portable across SQLite, PostgreSQL and MySQL/MariaDB (see 20261125000001).
ALTER TABLE hook_calls ADD COLUMN origin VARCHAR(8) NOT NULL DEFAULT 'okta';
DROP VIEW migrated_users;
CREATE VIEW migrated_users AS
    SELECT username,
           MIN(created_at) AS first_verified_at,
           MAX(created_at) AS last_verified_at,
           COUNT(*) AS verified_calls
    FROM hook_calls
    WHERE verdict = 'VERIFIED' AND origin = 'okta'
    GROUP BY username;
