#!/usr/bin/env bash
# make bench: load benchmarks of devauth, side by side with nginx (the ceiling for one HTTP
# response on this machine) and node oidc-provider (a peer with a device flow), plus Google
# Benchmark micro-benchmarks and a callgrind profile. docs/benchmarks.md explains the output.
#
# Environment: BENCH_QUICK=1 for a short run (about 3 minutes), BENCH_BUILD_DIR (default
# build-bench), BENCH_OUT (default a new directory under /tmp), BENCH_PROFILE=0 to skip callgrind,
# BENCH_SKIP_BUILD=1 to use the binaries already built there, BENCH_BIG_ROWS to set the large
# store's size (default 1,000,000, or 100,000 with BENCH_QUICK=1).
# Only 127.0.0.1 is used; every server is started here and stopped by its PID.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bench_dir="$root/bench"
build="${BENCH_BUILD_DIR:-$root/build-bench}"
out="${BENCH_OUT:-$(mktemp -d /tmp/devauth-bench.XXXXXX)}"
mkdir -p "$out"
work="$out/work"
mkdir -p "$work"

if [[ "${BENCH_QUICK:-0}" == 1 ]]; then
  duration=3 reps=1 seed_codes=4000 big_rows=100000 growth_approvals=500 micro_time=0.05
  profile_polls=1000 profile_begins=300
else
  duration=10 reps=3 seed_codes=10000 big_rows=1000000 growth_approvals=1000 micro_time=0.3
  profile_polls=4000 profile_begins=1000
fi
big_rows=${BENCH_BIG_ROWS:-$big_rows}
small_rows=1000
oidc_codes=400
wrk_threads=2
wrk_connections=64
server_threads=2
clk_tck=$(getconf CLK_TCK)
results="$out/results.tsv"
printf 'scenario\tserver\trep\trate\tp50_us\tp99_us\tcpu_us\tuser_us\tsys_us\trss_kb\tpending\tslow_down\tok\tother\tcounted\n' >"$results"

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# --- Packages -----------------------------------------------------------------------------

"$root/scripts/ensure-packages.sh"
bench_packages=(wrk nginx-light libbenchmark-dev valgrind curl nodejs)
missing=()
for package in "${bench_packages[@]}"; do
  status=$(dpkg-query --show --showformat='${db:Status-Status}' "$package" 2>/dev/null || true)
  [[ "$status" == installed ]] || missing+=("$package")
done
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]} > 0)); then
  if [[ "$(id -u)" -eq 0 ]]; then
    log "installing ${missing[*]}"
    # policy-rc.d keeps Debian from starting the nginx service on port 80 during the install.
    DEBIAN_FRONTEND=noninteractive apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  else
    echo "Missing packages: ${missing[*]}" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi

# --- Build --------------------------------------------------------------------------------

if [[ "${BENCH_SKIP_BUILD:-0}" == 1 ]]; then
  log "using the binaries already in $build"
else
  log "building Release in $build"
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDEVAUTH_BENCH=ON \
    -DBUILD_TESTING=OFF >"$out/cmake.log"
  cmake --build "$build" --target devauth devauth_bench_seed devauth_micro >"$out/build.log"
fi
devauth="$build/devauth"
seed="$build/bench/devauth_bench_seed"
(cd "$bench_dir" && npm ci --no-audit --no-fund --loglevel=error >"$out/npm.log")

# --- Servers ------------------------------------------------------------------------------

started_pids=()
stop_server() {
  local pid=$1 kept=() p
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  # Forget the PID at once, so that the exit trap never signals a reused PID.
  for p in "${started_pids[@]}"; do
    [[ "$p" == "$pid" ]] || kept+=("$p")
  done
  started_pids=("${kept[@]}")
}
shm_dir=""
cleanup() {
  local pid
  for pid in "${started_pids[@]}"; do
    stop_server "$pid"
  done
  if [[ -n "$shm_dir" ]]; then
    rm -rf "$shm_dir"
  fi
}
trap cleanup EXIT

# A free port on 127.0.0.1, chosen by the kernel (port 0). A port that merely refuses a
# connection may still be bound by an outgoing connection, so probing random ports is not enough.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits up to ATTEMPTS tenths of a second (default 20 s) for URL to respond.
wait_http() {
  local url=$1 attempts=${2:-200}
  for _ in $(seq 1 "$attempts"); do
    if curl -s -o /dev/null --max-time 1 "$url"; then
      return 0
    fi
    sleep 0.1
  done
  echo "bench: no response from $url; see the logs in $work" >&2
  return 1
}

# The abuse limits stop one client at one address from starting more than a few device
# authorizations a minute, which is all this load generator is, so the benchmark turns them off
# (0) where the build has them. The other limits count only failures.
limit_flags=()
if "$devauth" serve --help | grep -q -- --device-requests-per-client; then
  limit_flags=(--device-requests-per-client 0 --device-requests-per-address 0
    --max-live-authorizations 0)
fi

# Limits that this load never reaches, for the devauth-limits server: each begin then counts
# its client and its address, as in a deployment with the request limits on. The cap on live
# authorizations stays off, because the guessing odds that devauth checks at start do not allow
# a cap as large as the authorizations that the begin runs leave live.
counted_limit_flags=()
if [[ ${#limit_flags[@]} -gt 0 ]]; then
  counted_limit_flags=(--device-requests-per-client 1000000000
    --device-requests-per-address 1000000000 --max-live-authorizations 0)
fi

# Sets server_pid. Flags after the third argument replace limit_flags.
start_devauth() {
  local store=$1 port=$2 name=$3
  local flags=("${limit_flags[@]}")
  if [[ $# -gt 3 ]]; then
    flags=("${@:4}")
  fi
  "$devauth" serve --listen 127.0.0.1 --port "$port" --store "$store" --threads "$server_threads" \
    --expires-in 1800 "${flags[@]}" >"$work/$name.out" 2>"$work/$name.err" &
  server_pid=$!
  started_pids+=("$server_pid")
  wait_http "http://127.0.0.1:$port/healthz"
}

start_nginx() {
  local port=$1 prefix="$work/nginx"
  mkdir -p "$prefix"
  # Two workers, as devauth runs two I/O threads. Fixed responses and no access log.
  cat >"$prefix/nginx.conf" <<NGINX
worker_processes $server_threads;
daemon off;
pid $prefix/nginx.pid;
error_log $prefix/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 100000000;
  client_body_temp_path $prefix/body;
  proxy_temp_path $prefix/proxy;
  fastcgi_temp_path $prefix/fastcgi;
  uwsgi_temp_path $prefix/uwsgi;
  scgi_temp_path $prefix/scgi;
  default_type application/json;
  server {
    listen 127.0.0.1:$port;
    add_header Cache-Control no-store always;
    location = /oauth/device/token { return 400 '{"error":"authorization_pending"}'; }
    location = /oauth/device/begin {
      return 200 '{"device_code":"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS","user_code":"BCDF-GHJK","verification_uri":"http://127.0.0.1/device","verification_uri_complete":"http://127.0.0.1/device?user_code=BCDF-GHJK","expires_in":600,"interval":5}';
    }
    location = /healthz { return 200 'ok'; }
  }
}
NGINX
  nginx -c "$prefix/nginx.conf" -p "$prefix" -e "$prefix/error.log" &
  server_pid=$!
  started_pids+=("$server_pid")
  wait_http "http://127.0.0.1:$port/healthz"
}

start_oidc() {
  local port=$1
  (cd "$bench_dir" && exec node oidc/server.js "$port") >"$work/oidc.out" 2>"$work/oidc.err" &
  server_pid=$!
  started_pids+=("$server_pid")
  wait_http "http://127.0.0.1:$port/.well-known/openid-configuration"
}

# The PIDs in $1 (separated by spaces) and their child processes (nginx workers, PostgreSQL
# backends).
pid_tree() {
  local pid
  for pid in $1; do
    echo "$pid"
    cat "/proc/$pid/task/"*/children 2>/dev/null | tr ' ' '\n' | sed '/^$/d' || true
  done
}

# "utime stime" in clock ticks, summed over the process tree of $1.
cpu_ticks() {
  local user=0 system=0 pid fields
  for pid in $(pid_tree "$1"); do
    fields=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
    read -r -a f <<<"$fields"
    user=$((user + f[11]))
    system=$((system + f[12]))
  done
  echo "$user $system"
}

rss_kb() {
  local total=0 pid kb
  for pid in $(pid_tree "$1"); do
    kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    total=$((total + ${kb:-0}))
  done
  echo "$total"
}

bench_value() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }

# run_wrk SCENARIO SERVER REP PID PORT DURATION wrk-script-arguments...
run_wrk() {
  local scenario=$1 server=$2 rep=$3 pid=$4 port=$5 seconds=$6
  shift 6
  local before after line
  # cpu_pids: the processes whose CPU time counts, when more than the server (PostgreSQL).
  before=$(cpu_ticks "${cpu_pids:-$pid}")
  wrk -t"$wrk_threads" -c"$wrk_connections" -d"${seconds}s" --timeout 10s --latency \
    -s "$bench_dir/lua/device.lua" "http://127.0.0.1:$port" -- threads="$wrk_threads" \
    marker="$work/marker" "$@" >"$work/wrk-$scenario-$server-$rep.txt"
  after=$(cpu_ticks "${cpu_pids:-$pid}")
  rm -f "$work/marker".*
  line=$(grep '^BENCH ' "$work/wrk-$scenario-$server-$rep.txt")
  local counted user_ticks sys_ticks
  counted=$(bench_value "$line" counted)
  read -r ub sb <<<"$before"
  read -r ua sa <<<"$after"
  user_ticks=$((ua - ub))
  sys_ticks=$((sa - sb))
  awk -v s="$scenario" -v v="$server" -v r="$rep" -v rate="$(bench_value "$line" rate)" \
    -v p50="$(bench_value "$line" p50_us)" -v p99="$(bench_value "$line" p99_us)" \
    -v ut="$user_ticks" -v st="$sys_ticks" -v hz="$clk_tck" -v n="$counted" \
    -v rss="$(rss_kb "$pid")" -v pe="$(bench_value "$line" pending)" \
    -v sd="$(bench_value "$line" slow_down)" -v ok="$(bench_value "$line" ok)" \
    -v ot="$(bench_value "$line" other)" 'BEGIN {
      n = (n > 0) ? n : 1
      printf "%s\t%s\t%s\t%.0f\t%d\t%d\t%.1f\t%.1f\t%.1f\t%d\t%d\t%d\t%d\t%d\t%d\n", s, v, r, rate,
        p50, p99, (ut + st) * 1e6 / hz / n, ut * 1e6 / hz / n, st * 1e6 / hz / n, rss, pe, sd, ok,
        ot, n }' >>"$results"
  log "$scenario $server rep $rep: $(tail -1 "$results" | cut -f4-)"
  if [[ "$(bench_value "$line" other)" != 0 || "$(bench_value "$line" socket_errors)" != 0 ]]; then
    log "  unexpected answers: $line"
  fi
}

# Seeds device codes through a server's begin endpoint: COUNT codes into FILE.
seed_via_begin() {
  local port=$1 count=$2 file=$3 prefix="$work/record.$RANDOM"
  wrk -t"$wrk_threads" -c"$wrk_connections" -d600s --timeout 10s \
    -s "$bench_dir/lua/device.lua" "http://127.0.0.1:$port" -- threads="$wrk_threads" \
    mode=begin limit=$((count / wrk_threads)) record="$prefix" marker="$work/marker" \
    >"$work/seed-$port.txt"
  rm -f "$work/marker".*
  cat "$prefix".* >"$file"
  rm -f "$prefix".*
  local got
  got=$(wc -l <"$file")
  if ((got < count)); then
    echo "bench: seeding through begin on port $port gave $got codes of $count" >&2
    exit 1
  fi
}

backend_secret=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
backend_auth="Basic $(printf '%s' "bench-backend:$backend_secret" | base64 -w0)"

# --- Machine ------------------------------------------------------------------------------

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc: $(nproc)"
  echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
  echo "memory: $(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "kernel: $(uname -r)"
  echo "wrk: $(wrk -v 2>&1 | head -1)"
  echo "nginx: $(nginx -v 2>&1)"
  echo "node: $(node --version), oidc-provider $(node -p "require('$bench_dir/node_modules/oidc-provider/package.json').version")"
  echo "sqlite: $(sqlite3 --version | cut -d' ' -f1)"
  echo "settings: ${duration}s x $reps reps, wrk -t$wrk_threads -c$wrk_connections, devauth --threads $server_threads, nginx $server_threads workers"
} | tee "$out/machine.txt" >&2

# --- Side by side: nginx, devauth, oidc-provider -------------------------------------------

log "side by side: seeding $seed_codes device codes through begin on devauth and oidc-provider"
"$seed" --store "$work/main.db" --backend-secret "$backend_secret"
main_port=$(free_port)
start_devauth "$work/main.db" "$main_port" devauth-main
devauth_pid=$server_pid
seed_via_begin "$main_port" "$seed_codes" "$work/devauth-codes.txt"

# Diagnostic only: the same server with its store on tmpfs, where a WAL sync costs nothing, to
# separate the CPU cost of a request from the wait for the disk. Not used for the targets.
shm_dir=$(mktemp -d /dev/shm/devauth-bench.XXXXXX)
"$seed" --store "$shm_dir/main.db" --backend-secret "$backend_secret"
shm_port=$(free_port)
start_devauth "$shm_dir/main.db" "$shm_port" devauth-tmpfs
shm_pid=$server_pid
seed_via_begin "$shm_port" "$seed_codes" "$work/tmpfs-codes.txt"

# The same server with the request limits counted (counted_limit_flags above); begins only.
counted_pid=""
if [[ ${#counted_limit_flags[@]} -gt 0 ]]; then
  "$seed" --store "$work/counted.db" --backend-secret "$backend_secret"
  counted_port=$(free_port)
  start_devauth "$work/counted.db" "$counted_port" devauth-limits "${counted_limit_flags[@]}"
  counted_pid=$server_pid
fi

# PostgreSQL: when make bench runs this script under scripts/with-postgres.sh with
# DEVAUTH_POSTGRES_DURABLE=1, a throwaway cluster with fsync and synchronous_commit on.
pg_pid=""
pg_cpu_pids=""
if [[ -n "${DEVAUTH_TEST_POSTGRES_URL:-}" ]]; then
  psql "$DEVAUTH_TEST_POSTGRES_URL" -qAt -c "CREATE DATABASE devauth_bench" >/dev/null
  pg_url="${DEVAUTH_TEST_POSTGRES_URL%/*}/devauth_bench"
  pg_data=$(psql "$DEVAUTH_TEST_POSTGRES_URL" -qAt -c "SHOW data_directory")
  pg_master=$(head -1 "$pg_data/postmaster.pid")
  echo "postgres: $(psql "$DEVAUTH_TEST_POSTGRES_URL" -qAt -c "SELECT version()" | cut -d' ' -f1-2)," \
    "fsync $(psql "$DEVAUTH_TEST_POSTGRES_URL" -qAt -c "SHOW fsync")," \
    "synchronous_commit $(psql "$DEVAUTH_TEST_POSTGRES_URL" -qAt -c "SHOW synchronous_commit")" |
    tee -a "$out/machine.txt" >&2
  "$seed" --store "$pg_url" --backend-secret "$backend_secret"
  pg_port=$(free_port)
  start_devauth "$pg_url" "$pg_port" devauth-pg
  pg_pid=$server_pid
  # Server CPU of devauth-pg includes the PostgreSQL server's processes.
  pg_cpu_pids="$pg_pid $pg_master"
  seed_via_begin "$pg_port" "$seed_codes" "$work/pg-codes.txt"
else
  log "no PostgreSQL run: DEVAUTH_TEST_POSTGRES_URL is not set (make bench sets it)"
fi

nginx_port=$(free_port)
start_nginx "$nginx_port"
nginx_pid=$server_pid

oidc_port=$(free_port)
start_oidc "$oidc_port"
oidc_pid=$server_pid
# oidc-provider's default in-memory adapter is an LRU cache of 1,000 entries, and a device code
# takes two (the code and its user code), so more codes than 400 would be evicted and their
# polls would get invalid_grant.
seed_via_begin "$oidc_port" "$oidc_codes" "$work/oidc-codes.txt"

for rep in $(seq 1 "$reps"); do
  run_wrk poll nginx "$rep" "$nginx_pid" "$nginx_port" "$duration" mode=poll \
    codes="$work/devauth-codes.txt"
  run_wrk poll devauth "$rep" "$devauth_pid" "$main_port" "$duration" mode=poll \
    codes="$work/devauth-codes.txt"
  run_wrk poll oidc-provider "$rep" "$oidc_pid" "$oidc_port" "$duration" mode=poll \
    codes="$work/oidc-codes.txt"
  run_wrk poll devauth-tmpfs "$rep" "$shm_pid" "$shm_port" "$duration" mode=poll \
    codes="$work/tmpfs-codes.txt"
  if [[ -n "$pg_pid" ]]; then
    cpu_pids="$pg_cpu_pids" run_wrk poll devauth-pg "$rep" "$pg_pid" "$pg_port" "$duration" \
      mode=poll codes="$work/pg-codes.txt"
  fi
done
for rep in $(seq 1 "$reps"); do
  run_wrk begin nginx "$rep" "$nginx_pid" "$nginx_port" "$duration" mode=begin
  run_wrk begin devauth "$rep" "$devauth_pid" "$main_port" "$duration" mode=begin
  run_wrk begin oidc-provider "$rep" "$oidc_pid" "$oidc_port" "$duration" mode=begin
  run_wrk begin devauth-tmpfs "$rep" "$shm_pid" "$shm_port" "$duration" mode=begin
  if [[ -n "$counted_pid" ]]; then
    run_wrk begin devauth-limits "$rep" "$counted_pid" "$counted_port" "$duration" mode=begin
  fi
  if [[ -n "$pg_pid" ]]; then
    cpu_pids="$pg_cpu_pids" run_wrk begin devauth-pg "$rep" "$pg_pid" "$pg_port" "$duration" \
      mode=begin
  fi
done
stop_server "$nginx_pid"
stop_server "$oidc_pid"
stop_server "$devauth_pid"
stop_server "$shm_pid"
rm -rf "$shm_dir"
if [[ -n "$counted_pid" ]]; then
  stop_server "$counted_pid"
fi
if [[ -n "$pg_pid" ]]; then
  stop_server "$pg_pid"
fi

# --- Cost growth: 1,000 and 1,000,000 live authorizations ----------------------------------

# Both stores are seeded first and both servers run side by side, so that the repetitions at
# 1,000 and 1,000,000 rows alternate and share the machine's load, as in the runs above.
log "growth: seeding $small_rows and $big_rows live authorizations"
"$seed" --store "$work/small.db" --backend-secret "$backend_secret" --rows "$small_rows" \
  --keep "$small_rows" --codes-out "$work/small-codes.txt"
small_bytes=$(stat -c %s "$work/small.db")
keep=$((growth_approvals * reps + small_rows))
seed_start=$(date +%s.%N)
"$seed" --store "$work/big.db" --backend-secret "$backend_secret" --rows "$big_rows" \
  --keep "$keep" --codes-out "$work/big-codes.txt"
seed_seconds=$(awk -v a="$seed_start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
big_bytes=$(stat -c %s "$work/big.db")
# The polled codes are the last 1,000 kept; each approval repetition takes its own slice before.
tail -n "$small_rows" "$work/big-codes.txt" >"$work/big-poll-codes.txt"

small_port=$(free_port)
start_devauth "$work/small.db" "$small_port" devauth-small
small_pid=$server_pid
small_rss_idle=$(rss_kb "$small_pid")
big_port=$(free_port)
start_devauth "$work/big.db" "$big_port" devauth-big
big_pid=$server_pid
big_rss_idle=$(rss_kb "$big_pid")

# Polling over 1,000 codes in each store.
for rep in $(seq 1 "$reps"); do
  run_wrk poll-growth "devauth-$small_rows" "$rep" "$small_pid" "$small_port" "$duration" \
    mode=poll codes="$work/small-codes.txt"
  run_wrk poll-growth "devauth-$big_rows" "$rep" "$big_pid" "$big_port" "$duration" mode=poll \
    codes="$work/big-poll-codes.txt"
done
small_rss=$(rss_kb "$small_pid")
big_rss=$(rss_kb "$big_pid")
stop_server "$small_pid"

# Approval: at 1,000 rows a fresh store per repetition, approving its codes once each; at
# 1,000,000 rows a distinct slice of the large store per repetition.
approvals_small=$((growth_approvals < small_rows ? growth_approvals : small_rows))
for rep in $(seq 1 "$reps"); do
  rm -f "$work/approve.db"*
  "$seed" --store "$work/approve.db" --backend-secret "$backend_secret" --rows "$small_rows" \
    --keep "$approvals_small" --codes-out "$work/approve-codes.txt"
  port=$(free_port)
  start_devauth "$work/approve.db" "$port" devauth-approve
  run_wrk approve-growth "devauth-$small_rows" "$rep" "$server_pid" "$port" 60 mode=approve \
    codes="$work/approve-codes.txt" auth="$backend_auth" limit=$((approvals_small / wrk_threads))
  stop_server "$server_pid"

  sed -n "$(((rep - 1) * growth_approvals + 1)),$((rep * growth_approvals))p" \
    "$work/big-codes.txt" >"$work/big-approve-codes.txt"
  run_wrk approve-growth "devauth-$big_rows" "$rep" "$big_pid" "$big_port" 60 mode=approve \
    codes="$work/big-approve-codes.txt" auth="$backend_auth" \
    limit=$((growth_approvals / wrk_threads))
done
stop_server "$big_pid"

{
  echo "seed_seconds=$seed_seconds"
  echo "small_rows=$small_rows small_bytes=$small_bytes small_rss_idle_kb=$small_rss_idle small_rss_kb=$small_rss"
  echo "big_rows=$big_rows big_bytes=$big_bytes big_rss_idle_kb=$big_rss_idle big_rss_kb=$big_rss"
} >"$out/growth.txt"

# --- Micro-benchmarks ---------------------------------------------------------------------

log "micro-benchmarks"
TMPDIR="$work" "$build/bench/devauth_micro" --benchmark_min_time="$micro_time" \
  --benchmark_out="$out/micro.json" --benchmark_out_format=json >"$out/micro.txt" 2>&1 || {
  cat "$out/micro.txt" >&2
  exit 1
}

# --- Profile ------------------------------------------------------------------------------

if [[ "${BENCH_PROFILE:-1}" == 1 ]]; then
  log "profile: callgrind on $profile_polls polls and $profile_begins begins"
  for endpoint in poll begin; do
    rm -f "$work/profile.db"*
    "$seed" --store "$work/profile.db" --rows 2000 --keep 2000 \
      --codes-out "$work/profile-codes.txt"
    port=$(free_port)
    valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.$endpoint.out" \
      "$devauth" serve --listen 127.0.0.1 --port "$port" --store "$work/profile.db" \
      --threads "$server_threads" "${limit_flags[@]}" >"$work/profile.out" 2>"$work/profile-$endpoint.err" &
    server_pid=$!
    started_pids+=("$server_pid")
    wait_http "http://127.0.0.1:$port/healthz" 1200
    count=$([[ $endpoint == poll ]] && echo "$profile_polls" || echo "$profile_begins")
    wrk -t"$wrk_threads" -c8 -d300s --timeout 60s -s "$bench_dir/lua/device.lua" \
      "http://127.0.0.1:$port" -- threads="$wrk_threads" mode="$endpoint" \
      codes="$work/profile-codes.txt" limit=$((count / wrk_threads)) marker="$work/marker" \
      >"$work/profile-wrk-$endpoint.txt"
    rm -f "$work/marker".*
    stop_server "$server_pid"
    callgrind_annotate --inclusive=no "$out/callgrind.$endpoint.out" 2>/dev/null |
      sed -n 1,60p >"$out/profile-$endpoint-self.txt"
    callgrind_annotate --inclusive=yes "$out/callgrind.$endpoint.out" 2>/dev/null |
      sed -n 1,80p >"$out/profile-$endpoint-inclusive.txt"
  done
fi

# --- Summary ------------------------------------------------------------------------------

"$bench_dir/summarize.sh" "$out" | tee "$out/summary.md"
log "results in $out"
