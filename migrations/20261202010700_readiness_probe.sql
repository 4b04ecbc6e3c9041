-- One row the readiness probe rewrites every few seconds: a committed write,
-- so a read-only or full ledger makes /readyz unready. Portable SQL.
CREATE TABLE readiness_probe (
    id INTEGER NOT NULL PRIMARY KEY,
    checked_at VARCHAR(40) NOT NULL
);
INSERT INTO readiness_probe (id, checked_at) VALUES (1, '');
