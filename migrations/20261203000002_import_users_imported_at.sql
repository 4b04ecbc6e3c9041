-- When each user was created in Okta: the clock `stragglers` and `status`
-- count a straggler's age from. Rows from before this column take their last
-- update, the best-known moment. Portable SQL (see 20261125000001).
ALTER TABLE import_users ADD COLUMN imported_at VARCHAR(40);
UPDATE import_users SET imported_at = updated_at
    WHERE state IN ('created_native', 'created_hook');
CREATE INDEX import_users_imported_at ON import_users (imported_at);
