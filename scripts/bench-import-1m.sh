#!/usr/bin/env bash
# Memory benchmark of `passbridge import` (not a test): generates N users
# (default 1,000,000) in a SQLite legacy database, runs the Okta stand-in
# (`passbridge dev okta`, rate limit off) as a separate process, imports
# everyone, and prints the importer's peak RSS and users/s. The stand-in's own
# memory (it keeps every user) is not counted: only the importer is measured.
#
#   cargo build --release && scripts/bench-import-1m.sh
#   N=100000 CONCURRENCY=16 scripts/bench-import-1m.sh
#
# Target: importer peak RSS < 100 MiB. Record results in docs/benchmarks.md.
set -euo pipefail

N=${N:-1000000}
CONCURRENCY=${CONCURRENCY:-16}
BIN=${PASSBRIDGE_BIN:-${CARGO_TARGET_DIR:-target}/release/passbridge}
PORT=${PORT:-18199}
TOKEN=bench-token-not-a-real-okta-token
WORK=$(mktemp -d)
trap 'kill "$STANDIN_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT

[ -x "$BIN" ] || { echo "build first: cargo build --release (or set PASSBRIDGE_BIN)" >&2; exit 2; }
command -v sqlite3 >/dev/null || { echo "needs the sqlite3 CLI" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time)" >&2; exit 2; }

echo "generating $N users in $WORK/legacy.db"
# Hashes from the project's hash corpus (tests/data/hashcorpus/public.jsonl):
#   pub-0710 bcrypt_2b (pyca bcrypt 4.3.0)        -> native BCRYPT
#   pub-0426 ldap_salted_sha1 (libpass 1.9.4)     -> native SHA-1
#   pub-1041 hex_md5 (Python hashlib)             -> native MD5
#   pub-0079 argon2id (argon2-cffi 25.1.0)        -> hook
#   demo.rs "carol" sha512_crypt (libxcrypt)      -> hook
# One value per scheme is enough: import parses every row, it never verifies.
sqlite3 "$WORK/legacy.db" <<SQL
CREATE TABLE users (login TEXT PRIMARY KEY, email TEXT, first_name TEXT,
  last_name TEXT, password_hash TEXT, salt TEXT, scheme TEXT);
WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < $N - 1)
INSERT INTO users
SELECT printf('user%07d@example.com', i), printf('user%07d@example.com', i),
       'First', printf('Last%d', i),
       CASE i % 5
         WHEN 0 THEN '\$2b\$04\$HnXkQnl4WZsr7iXr.Jp29.Hw8is/kvljFsWD29SS6HC53FqzlsPRO'
         WHEN 1 THEN '{SSHA}n4vEbeXwncs2bJaLbHdA4Am679aqFQKg'
         WHEN 2 THEN '\$argon2id\$v=19\$m=65536,t=3,p=4\$o+zslGTgw5jNSEb9ByqKXg\$ZntlkZP7pVMIXbcr5xXJYvyouXlqtxfPRLs/Lzy4Ok0'
         WHEN 3 THEN '9cc2ae8a1ba7a93da39b46fc1019c481'
         ELSE '\$6\$NBWvSvRrKnjjcXmu\$y6Hut.UoTFStisAiKTt0mpwanMiktL3R..iMLI6WdY453DZte29bIzl/eQWtEv.Ors2ZlJx6m3rQ0pOTNs9ol1'
       END,
       NULL,
       CASE i % 5 WHEN 3 THEN 'hex_md5' ELSE NULL END
FROM c;
SQL

echo "starting the stand-in on 127.0.0.1:$PORT (rate limit off)"
PASSBRIDGE_DEV_OKTA_TOKEN=$TOKEN PASSBRIDGE_LOG=warn \
  "$BIN" dev okta --listen "127.0.0.1:$PORT" >"$WORK/standin.log" 2>&1 &
STANDIN_PID=$!
for _ in $(seq 1 50); do
  grep -q "listening" "$WORK/standin.log" 2>/dev/null && break
  sleep 0.1
done

echo "importing with --concurrency $CONCURRENCY"
env -i PATH="$PATH" \
  PASSBRIDGE_LEGACY_URL="sqlite://$WORK/legacy.db" \
  PASSBRIDGE_LEDGER_URL="sqlite://$WORK/ledger.db?mode=rwc" \
  PASSBRIDGE_IMPORT_QUERY="SELECT login, email, first_name AS firstName, last_name AS lastName, password_hash, salt, scheme FROM users" \
  OKTA_ORG_URL="http://127.0.0.1:$PORT" OKTA_API_TOKEN=$TOKEN PASSBRIDGE_LOG=warn \
  /usr/bin/time -v "$BIN" import --quiet --concurrency "$CONCURRENCY" \
  >"$WORK/import.out" 2>"$WORK/import.time" || true

cat "$WORK/import.out"
RSS_KB=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/import.time")
WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/import.time")
echo "----"
echo "users:          $N"
echo "wall time:      $WALL"
echo "peak RSS:       $((RSS_KB / 1024)) MiB ($RSS_KB KiB)"
echo "stand-in users: $(curl -s -H "Authorization: SSWS $TOKEN" "http://127.0.0.1:$PORT/__dev/stats")"
