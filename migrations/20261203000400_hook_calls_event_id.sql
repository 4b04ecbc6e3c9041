-- Several `serve` replicas share the replay window through the ledger: a call
-- whose eventId this replica has not seen looks for an earlier row with the
-- same eventId (one indexed read, see src/ledger/replays.rs).
-- Portable across SQLite, PostgreSQL and MySQL/MariaDB (see 20261125000001).
CREATE INDEX hook_calls_event_id ON hook_calls (event_id);
