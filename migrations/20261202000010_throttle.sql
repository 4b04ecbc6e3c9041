-- Throttle counters: one row per key (a legacy row, a row and an end-user IP,
-- an IP bucket, or a normalised unknown username), counting attempts within a
-- window that starts at the first attempt. Keys are digests or IP buckets,
-- never a password or a stored hash. Portable across SQLite, PostgreSQL and
-- MySQL/MariaDB; times are Unix milliseconds.
CREATE TABLE throttle_counters (
    throttle_key VARCHAR(128) NOT NULL PRIMARY KEY,
    window_start BIGINT NOT NULL,
    attempts BIGINT NOT NULL
);
CREATE INDEX throttle_counters_window_start ON throttle_counters (window_start);
