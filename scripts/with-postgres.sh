#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL 15 cluster:
#
#   scripts/with-postgres.sh CMD [ARG...]
#
# Creates a cluster in a new temporary directory, starts it on a free TCP port of 127.0.0.1 (and
# a unix socket in the same directory), exports DEVAUTH_TEST_POSTGRES_URL for it, runs CMD, then
# stops the cluster, deletes the directory and exits with CMD's exit status. PostgreSQL refuses
# to run as root, so as root the cluster runs as the `postgres` user of the Debian package.
#
# The cluster trusts every local connection and holds test data only: never use it for anything
# else. DEVAUTH_POSTGRES_DURABLE=1 starts it with fsync and synchronous_commit on (see below).
set -euo pipefail

if (($# == 0)); then
  echo "usage: $0 CMD [ARG...]" >&2
  exit 2
fi

pg_bin=${DEVAUTH_POSTGRES_BIN:-/usr/lib/postgresql/15/bin}
if [[ ! -x "$pg_bin/initdb" || ! -x "$pg_bin/pg_ctl" ]]; then
  echo "PostgreSQL 15 server binaries not found in $pg_bin; install the Debian package" \
    "postgresql (scripts/ensure-packages.sh does)" >&2
  exit 1
fi

run_as=()
if [[ "$(id -u)" -eq 0 ]]; then
  if ! id -u postgres >/dev/null 2>&1; then
    echo "running as root, but the user 'postgres' does not exist; install the package postgresql" >&2
    exit 1
  fi
  run_as=(runuser -u postgres --)
fi

cluster_dir=$(mktemp -d "${TMPDIR:-/tmp}/devauth-postgres-XXXXXX")
chmod 0755 "$cluster_dir"
if ((${#run_as[@]} > 0)); then
  chown postgres: "$cluster_dir"
fi
data_dir="$cluster_dir/data"
log_file="$cluster_dir/postgres.log"

started=0
cleanup() {
  if ((started)); then
    "${run_as[@]}" "$pg_bin/pg_ctl" stop --pgdata="$data_dir" --mode=fast --silent || true
  fi
  rm -rf "$cluster_dir"
}
trap cleanup EXIT

# Asks the kernel for a free port. Another process may take it before the server binds it; the
# server then fails to start and the script reports it.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
  shuf -i 20000-60000 -n 1)

"${run_as[@]}" "$pg_bin/initdb" --pgdata="$data_dir" --username=postgres --auth=trust \
  --encoding=UTF8 --locale=C.UTF-8 >"$cluster_dir/initdb.log" 2>&1 || {
  cat "$cluster_dir/initdb.log" >&2
  exit 1
}

# fsync off: the cluster is thrown away, so durability buys nothing and costs test time.
# DEVAUTH_POSTGRES_DURABLE=1 keeps PostgreSQL's durable defaults instead, for benchmarks whose
# commits must wait for the disk as in production.
durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
if [[ "${DEVAUTH_POSTGRES_DURABLE:-0}" == 1 ]]; then
  durability=""
fi
if ! "${run_as[@]}" "$pg_bin/pg_ctl" start --pgdata="$data_dir" --log="$log_file" --wait \
  --timeout=60 --silent \
  --options="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$cluster_dir \
$durability -c max_connections=300"; then
  echo "PostgreSQL failed to start; its log follows" >&2
  cat "$log_file" >&2 || true
  exit 1
fi
started=1

export DEVAUTH_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:$port/postgres"
echo "with-postgres: PostgreSQL 15 on 127.0.0.1:$port (data in $data_dir)" >&2

status=0
"$@" || status=$?
exit "$status"
