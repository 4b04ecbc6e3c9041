-- `passbridge stragglers --reset-password`: one row per login sent Okta's
-- reset-password email (or about to be), so a re-run never emails a user twice
-- and a killed run is resumed. 'pending' is written before the call and 'sent'
-- after it; a 'sent' user no longer waits for the hook. Never a password, a
-- hash or the reset link. Portable across SQLite, PostgreSQL and MySQL/MariaDB
-- (see 20261125000001).
CREATE TABLE straggler_resets (
    login VARCHAR(320) NOT NULL PRIMARY KEY,
    okta_id VARCHAR(64) NOT NULL,
    -- 'pending' | 'sent' | 'failed'
    state VARCHAR(16) NOT NULL,
    reason VARCHAR(512),
    attempts BIGINT NOT NULL,
    run_id VARCHAR(36) NOT NULL,
    sent_at VARCHAR(40),
    updated_at VARCHAR(40) NOT NULL
);
CREATE INDEX straggler_resets_state ON straggler_resets (state);
