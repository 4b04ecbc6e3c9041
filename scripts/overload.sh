#!/usr/bin/env bash
# Overload and enumeration-timing benchmark (not a test): starts
# `passbridge serve` on loopback against a SQLite table of bcrypt-12 users,
# drives it with examples/overload.rs, and prints the figures that go into
# docs/benchmarks.md ("Admission control under overload"). Traffic stays on
# 127.0.0.1; every loop is bounded.
#
#   scripts/overload.sh            # release build
#   PROFILE=debug scripts/overload.sh   # debug build (hash crates are optimised in debug too)
#
# Env: CLIENTS (200), SECONDS_LOAD (30), PAUSE_MS (1000), USERS (20), PORT (18090), ADMIN_PORT (18091),
#      SKIP_BUILD, KIND (bcrypt12: the scheme of the load runs), ONLY (overload: the load run
#      and its batch reference alone, without the 2-client and enumeration runs).
#
# Okta's concurrency (about 75 transactions open org-wide) on bcrypt-10:
#   KIND=bcrypt10 CLIENTS=75 PAUSE_MS=0 SECONDS_LOAD=20 ONLY=overload scripts/overload.sh
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${PROFILE:-release}
clients=${CLIENTS:-200}
seconds=${SECONDS_LOAD:-30}
pause=${PAUSE_MS:-1000}
users=${USERS:-20}
kind=${KIND:-bcrypt12}
only=${ONLY:-}
port=${PORT:-18090}
admin_port=${ADMIN_PORT:-18091}
secret=overload-secret-0123456789abcdef
url="http://127.0.0.1:$port/hooks/password-import"

if [ -n "${SKIP_BUILD:-}" ]; then
  : # the binaries already built (a commit since rebuilds the crate: build.rs stamps it)
elif [ "$profile" = release ]; then
  cargo build --release --quiet --bin passbridge --example overload
else
  cargo build --quiet --bin passbridge --example overload
fi
bin=target/$profile/passbridge
gen=target/$profile/examples/overload
work=$(mktemp -d)
server=
stop() { if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=; fi; }
trap 'stop; rm -rf "$work"' EXIT

# start KIND [extra toml lines for [legacy]]
start() {
  local kind=$1 extra=${2:-}
  rm -f "$work"/legacy.db "$work"/passbridge-ledger.db*
  sqlite3 "$work/legacy.db" < "$work/$kind.sql"
  cat > "$work/pb.toml" <<TOML
listen = "127.0.0.1:$port"
admin_listen = "127.0.0.1:$admin_port"
[legacy]
url = "sqlite://$work/legacy.db"
query = "SELECT password_hash, salt, scheme FROM users WHERE email = ?"
$extra
[hook.throttle]
# Every client signs in from 127.0.0.1: measure the verifier, not the limits.
per_row_ip = 0
per_row = 0
per_ip = 0
TOML
  PASSBRIDGE_LOG=error PASSBRIDGE_HOOK_SECRET=$secret "$bin" serve --config "$work/pb.toml" \
    >"$work/out.txt" 2>"$work/err.txt" &
  server=$!
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "server did not start"; cat "$work/err.txt"; exit 1
}

peak_rss() { awk '/VmHWM/ {printf "%.1f MiB", $2/1024}' "/proc/$server/status"; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -srm), build: $profile"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

"$gen" seed "$kind" "$users" "$work/$kind.sql" "$work/$kind.jsonl"
# The same hashes, verified offline on every core, a few times over.
for _ in 1 2 3; do cat "$work/$kind.jsonl"; done > "$work/batch.jsonl"
lines=$(wc -l < "$work/batch.jsonl")
t0=$(date +%s.%N)
"$bin" hash verify --batch "$work/batch.jsonl" > /dev/null 2>&1
t1=$(date +%s.%N)
echo "hash verify --batch: $lines $kind verifications in $(echo "$t1 - $t0" | bc) s = $(echo "scale=2; $lines / ($t1 - $t0)" | bc) /s"

start "$kind"
echo "== $clients clients, ${pause} ms pause, ${seconds} s, $kind"
"$gen" load "$url" "$secret" "$users" "$clients" "$seconds" "$pause"
echo "  peak RSS: $(peak_rss)"
curl -fsS "http://127.0.0.1:$admin_port/metrics" 2>/dev/null | grep -E '^passbridge_(hook_answers_total|hook_overloaded_total)' | sed 's/^/  /' || true
stop
if [ "$only" = overload ]; then
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  exit 0
fi
"$gen" seed bcrypt12 "$users" "$work/bcrypt12.sql" "$work/bcrypt12.jsonl"
start bcrypt12
echo "== 2 clients, no pause, ${seconds} s, bcrypt-12"
"$gen" load "$url" "$secret" "$users" 2 "$seconds" 0
echo "  peak RSS: $(peak_rss)"
stop

echo "== enumeration timing (sequential; wrong password vs unknown user, single-scheme table)"
for kind in bcrypt10 bcrypt12 argon2id pbkdf2 ssha256; do
  "$gen" seed "$kind" 4 "$work/$kind.sql" "$work/$kind.jsonl"
  extra=
  if [ "$kind" = ssha256 ]; then extra=$'[legacy.params]\nsalt_position = "suffix"'; fi
  start "$kind" "$extra"
  printf '%-10s ' "$kind"
  "$gen" enum "$url" "$secret" 4 "${ROUNDS:-25}"
  stop
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
