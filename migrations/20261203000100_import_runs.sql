-- One row per `passbridge import` run: how far it got and where it stood in
-- Okta's rate-limit window, written at most once a second and at the end, so
-- `passbridge status` and `/admin` can show the position after the fact.
-- Counts and times only: never a login, a password or a token.
-- Portable across SQLite, PostgreSQL and MySQL/MariaDB (see 20261125000001).
CREATE TABLE import_runs (
    run_id VARCHAR(36) NOT NULL PRIMARY KEY,
    started_at VARCHAR(40) NOT NULL,
    updated_at VARCHAR(40) NOT NULL,
    finished_at VARCHAR(40),
    -- Users the run had to do (when the source could be counted) and did.
    users_total BIGINT,
    users_done BIGINT NOT NULL,
    -- The last `X-Rate-Limit-*` position of the users.create bucket, if any.
    rate_limit BIGINT,
    rate_remaining BIGINT,
    rate_resets_at VARCHAR(40)
);
CREATE INDEX import_runs_updated_at ON import_runs (updated_at);
-- `status` counts hook users verified by Okta's sign-ins: this index holds
-- every column the migrated_users view reads, so it scans the index alone.
CREATE INDEX hook_calls_verified ON hook_calls (verdict, origin, username, created_at);
