#!/usr/bin/env bash
# Load test: starts `passbridge serve --demo` (release build) on a loopback
# port, drives it with examples/loadtest.rs for each demo scheme, prints the
# figures, and stops the server. Traffic stays on 127.0.0.1; every loop is
# bounded in time.
#
#   scripts/loadtest.sh [CONCURRENCY] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
concurrency=${1:-16}
seconds=${2:-10}
port=${LOADTEST_PORT:-18080}

cargo build --release --quiet --bin passbridge --example loadtest
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

(cd "$work" && PASSBRIDGE_LOG=warn PASSBRIDGE_HOOK_SECRET=loadtest-secret-0123456789abcdef \
  exec "$OLDPWD/target/release/passbridge" serve --demo --listen "127.0.0.1:$port") >"$work/out.txt" 2>"$work/err.txt" &
server=$!
for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.2; done

echo "machine: $(nproc) cores, $(uname -srm), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
# The throttle would (rightly) block a flood of wrong passwords; all requests here are correct ones.
for user in "alice@example.com alice-Passw0rd! bcrypt_2b(cost10)" \
            "bob@example.com bob-Passw0rd! argon2id(m19456,t2,p1)" \
            "carol@example.com Tr0ub4dor&3 sha512_crypt(5000)" \
            "frank@example.com frank-Passw0rd! salted_sha256" \
            "nobody@example.com whatever unknown_user(dummy-bcrypt10)"; do
  set -- $user
  printf '%-36s ' "$3"
  target/release/examples/loadtest "http://127.0.0.1:$port/hooks/password-import" \
    loadtest-secret-0123456789abcdef "$1" "$2" "$concurrency" "$seconds"
done
