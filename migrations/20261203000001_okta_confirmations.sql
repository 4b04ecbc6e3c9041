-- Okta's own word on each password it was told was VERIFIED (or never was):
-- the event hook's user.import.password outcomes and `reconcile`'s findings,
-- one row per login; and the uuids of the Okta events already applied, since
-- Okta delivers at least once and out of order. Never a password or a hash.
-- Portable across SQLite, PostgreSQL and MySQL/MariaDB (see 20261125000001).
CREATE TABLE okta_confirmations (
    login VARCHAR(320) NOT NULL PRIMARY KEY,
    okta_id VARCHAR(64),
    -- 'confirmed' once Okta stored the password (SUCCESS, or provider OKTA);
    -- 'failed' while the last word was FAILURE (Okta asks the hook again).
    state VARCHAR(16) NOT NULL,
    -- Who said it last: 'event' or 'reconcile'.
    source VARCHAR(16) NOT NULL,
    failures BIGINT NOT NULL,
    confirmed_at VARCHAR(40),
    updated_at VARCHAR(40) NOT NULL
);
CREATE INDEX okta_confirmations_state ON okta_confirmations (state);
CREATE TABLE okta_events_seen (
    event_uuid VARCHAR(64) NOT NULL PRIMARY KEY,
    event_type VARCHAR(128) NOT NULL,
    received_at VARCHAR(40) NOT NULL
);
CREATE INDEX okta_events_seen_received_at ON okta_events_seen (received_at);
