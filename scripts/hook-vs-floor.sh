#!/usr/bin/env bash
# Hook overhead benchmark (not a test, never in CI): a bare axum endpoint
# (examples/floor.rs) and `passbridge serve` driven by the same wrk script
# (scripts/bench/okta-hook.lua: Okta-shaped body, fresh eventId, answers
# checked for VERIFIED), one after the other, ROUNDS times, at CONNECTIONS
# connections; salted SHA-256 users; SQLite legacy and ledger, then
# PostgreSQL for both. Prints one table row per configuration (medians).
#
#   scripts/hook-vs-floor.sh
#   ROUNDS=5 SECONDS_LOAD=10 CONNECTIONS=64 scripts/hook-vs-floor.sh
#
# Env: ROUNDS (3), SECONDS_LOAD (10), CONNECTIONS (64), USERS (1000), SKIP_BUILD,
#      PG_URL (postgres://postgres@127.0.0.1:5432; PG rows skipped if unreachable).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
seconds=${SECONDS_LOAD:-10}
conns=${CONNECTIONS:-64}
users=${USERS:-1000}
pg_base=${PG_URL:-postgres://postgres@127.0.0.1:5432}
port=18190
admin_port=18191
secret=floor-bench-secret-0123456789abcdef

command -v wrk >/dev/null || { echo "installing wrk (Debian)"; DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null; }
# SKIP_BUILD=1 uses the binaries already built (a commit since rebuilds the
# crate: build.rs stamps the commit into it).
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --quiet --bin passbridge --example floor --example overload
out=${CARGO_TARGET_DIR:-target}/release
bin=$out/passbridge
work=$(mktemp -d)
server=
stop() { if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=; fi; }
pg_db=pb_bench_floor
cleanup() {
  stop
  psql "$pg_base/postgres" -qc "DROP DATABASE IF EXISTS $pg_db" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

wait_up() {
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' -d '{}' "http://127.0.0.1:$port/hooks/password-import" 2>/dev/null && return
    curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && return
    sleep 0.1
  done
  echo "server did not start"; cat "$work/err.txt" 2>/dev/null; exit 1
}

"$out/examples/overload" seed ssha256 "$users" "$work/users.sql" "$work/users.jsonl"

# start_hook LEGACY_URL LEDGER_URL PLACEHOLDER
start_hook() {
  cat > "$work/pb.toml" <<TOML
listen = "127.0.0.1:$port"
admin_listen = "127.0.0.1:$admin_port"
[legacy]
url = "$1"
query = "SELECT password_hash, salt, scheme FROM users WHERE email = $3"
[legacy.params]
salt_position = "suffix"
[ledger]
url = "$2"
spool_dir = "$work/spool"
TOML
  PASSBRIDGE_LOG=error PASSBRIDGE_HOOK_SECRET=$secret "$bin" serve --config "$work/pb.toml" \
    >"$work/out.txt" 2>"$work/err.txt" &
  server=$!
  wait_up
}
start_floor() {
  "$out/examples/floor" "$port" >"$work/out.txt" 2>"$work/err.txt" &
  server=$!
  wait_up
}
# drive -> "req/s p50 p99 p99.9 errors not_verified"
drive() {
  PB_SECRET=$secret PB_USERS=$users wrk -t2 -c"$conns" -d"${seconds}s" \
    -s scripts/bench/okta-hook.lua "http://127.0.0.1:$port" 2>&1 | awk '/^RESULT/ {print $2, $3, $4, $5, $6, $7}'
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# run NAME LEGACY LEDGER PLACEHOLDER: ROUNDS x (floor, hook), medians of each column.
run() {
  local name=$1 legacy=$2 ledger=$3 placeholder=$4
  : > "$work/floor.txt"; : > "$work/hook.txt"
  for _ in $(seq 1 "$rounds"); do
    start_floor; drive >> "$work/floor.txt"; stop
    reset_store "$legacy" "$ledger"
    start_hook "$legacy" "$ledger" "$placeholder"; drive >> "$work/hook.txt"; stop
  done
  for who in floor hook; do
    local f="$work/$who.txt"
    printf '%-22s %-6s %10s %8s %8s %8s %7s %8s\n' "$name" "$who" \
      "$(cut -d' ' -f1 "$f" | median)" "$(cut -d' ' -f2 "$f" | median)" \
      "$(cut -d' ' -f3 "$f" | median)" "$(cut -d' ' -f4 "$f" | median)" \
      "$(cut -d' ' -f5 "$f" | median)" "$(cut -d' ' -f6 "$f" | median)"
  done
  local fr hr fp hp
  fr=$(cut -d' ' -f1 "$work/floor.txt" | median); hr=$(cut -d' ' -f1 "$work/hook.txt" | median)
  fp=$(cut -d' ' -f3 "$work/floor.txt" | median); hp=$(cut -d' ' -f3 "$work/hook.txt" | median)
  printf '%-22s ratio  throughput %.2f of the floor, p99 +%.3f ms over the floor\n' "$name" \
    "$(echo "$hr / $fr" | bc -l)" "$(echo "$hp - $fp" | bc -l)"
}
# reset_store LEGACY LEDGER: a fresh users table and an empty ledger.
reset_store() {
  case "$1" in
    sqlite*)
      rm -f "$work"/legacy.db* "$work"/ledger.db* ; rm -rf "$work/spool"
      sqlite3 "$work/legacy.db" < "$work/users.sql" ;;
    postgres*)
      psql "$pg_base/postgres" -qc "DROP DATABASE IF EXISTS $pg_db" >/dev/null
      psql "$pg_base/postgres" -qc "CREATE DATABASE $pg_db" >/dev/null
      psql "$pg_base/$pg_db" -q -f "$work/users.sql" >/dev/null ;;
  esac
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -srm)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrk -t2 -c$conns -d${seconds}s, $rounds rounds, medians; $users salted SHA-256 users, right passwords"
printf '%-22s %-6s %10s %8s %8s %8s %7s %8s\n' config server req/s p50_ms p99_ms p999_ms errors not_ver
run sqlite "sqlite://$work/legacy.db" "sqlite://$work/ledger.db" "?"
if psql "$pg_base/postgres" -qc 'SELECT 1' >/dev/null 2>&1; then
  run postgres "$pg_base/$pg_db" "$pg_base/$pg_db" "\$1"
else
  echo "postgres: not reachable at $pg_base, skipped"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
