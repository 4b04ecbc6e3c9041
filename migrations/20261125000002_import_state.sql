-- passbridge import: one row per legacy user, so a re-run continues where the
-- last one stopped and never creates a user twice. Never a password or a hash.
-- Portable across SQLite, PostgreSQL and MySQL/MariaDB (see 20261125000001).
CREATE TABLE import_users (
    login VARCHAR(320) NOT NULL PRIMARY KEY,
    state VARCHAR(16) NOT NULL,
    path VARCHAR(8),
    scheme VARCHAR(64),
    okta_id VARCHAR(64),
    reason VARCHAR(512),
    attempts BIGINT NOT NULL,
    run_id VARCHAR(36) NOT NULL,
    updated_at VARCHAR(40) NOT NULL
);
CREATE INDEX import_users_state ON import_users (state);
