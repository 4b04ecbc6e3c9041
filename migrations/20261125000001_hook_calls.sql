-- passbridge's own ledger: one row per hook call. Never the password or the hash.
-- Portable across SQLite, PostgreSQL and MySQL/MariaDB: no AUTOINCREMENT/SERIAL,
-- timestamps as RFC 3339 UTC text (sorts correctly, readable everywhere).
CREATE TABLE hook_calls (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    event_id VARCHAR(255),
    request_id VARCHAR(64),
    username VARCHAR(320) NOT NULL,
    verdict VARCHAR(16) NOT NULL,
    reason VARCHAR(32) NOT NULL,
    scheme VARCHAR(64),
    latency_ms BIGINT NOT NULL,
    created_at VARCHAR(40) NOT NULL
);
CREATE INDEX hook_calls_username ON hook_calls (username);
CREATE INDEX hook_calls_created_at ON hook_calls (created_at);
CREATE VIEW migrated_users AS
    SELECT username,
           MIN(created_at) AS first_verified_at,
           MAX(created_at) AS last_verified_at,
           COUNT(*) AS verified_calls
    FROM hook_calls
    WHERE verdict = 'VERIFIED'
    GROUP BY username;
