#!/usr/bin/env bash
# Makes sure the PostgreSQL and MariaDB servers the integration tests use are
# up (they are started before CI on our machines; this starts them if not),
# and drops the per-test databases earlier runs left behind.
# `--sweep-only` only drops the leftovers (CI calls it when the tests end).
set -uo pipefail

sweep() {
  # Per-test databases are named pb_<uuid>.
  for db in $(psql -h 127.0.0.1 -U postgres -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'pb\_%'"); do
    psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
  done
  for db in $(mariadb -h127.0.0.1 -uroot -N -e "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'pb\_%'"); do
    mariadb -h127.0.0.1 -uroot -e "DROP DATABASE IF EXISTS \`$db\`" || true
  done
}

if [ "${1:-}" = "--sweep-only" ]; then
  sweep
  exit 0
fi

wait_for() { # name, command...
  local name=$1; shift
  for _ in $(seq 1 30); do
    if "$@" >/dev/null 2>&1; then echo "$name is up"; return 0; fi
    sleep 1
  done
  echo "$name did not come up" >&2
  return 1
}

if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
wait_for PostgreSQL pg_isready -h 127.0.0.1 -p 5432 || exit 1

if ! mariadb -h127.0.0.1 -uroot -e 'SELECT 1' >/dev/null 2>&1; then
  echo "starting MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
fi
wait_for MariaDB mariadb -h127.0.0.1 -uroot -e 'SELECT 1' || exit 1
mariadb -h127.0.0.1 -uroot -e 'CREATE DATABASE IF NOT EXISTS test'

# Remove leftovers from earlier runs.
sweep
exit 0
