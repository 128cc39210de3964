#!/usr/bin/env bash
# Runs every libFuzzer target in FUZZ_BUILD_DIR (default build-fuzz) for FUZZ_SECONDS seconds
# each (default 300), starting from the seed corpus in fuzz/corpus/NAME/. New interesting inputs
# go to FUZZ_BUILD_DIR/corpus/NAME/, not into the repository. A crash leaves its input in
# FUZZ_BUILD_DIR/artifacts/ and fails the run; turn it into a regression test under tests/.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${FUZZ_BUILD_DIR:-build-fuzz}
seconds=${FUZZ_SECONDS:-300}
mkdir -p "$build_dir/artifacts"

status=0
for binary in "$build_dir"/fuzz/fuzz_*; do
  [[ -x "$binary" ]] || continue
  name=$(basename "$binary")
  name=${name#fuzz_}
  seeds=fuzz/corpus/$name
  work=$build_dir/corpus/$name
  mkdir -p "$work"
  echo "fuzz: $name for $seconds s"
  if ! "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$build_dir/artifacts/$name-" "$work" "$seeds" \
      > "$build_dir/fuzz-$name.log" 2>&1; then
    echo "fuzz: $name FAILED; the input is in $build_dir/artifacts/, the log follows" >&2
    tail -60 "$build_dir/fuzz-$name.log" >&2
    status=1
  else
    grep -E '^stat::number_of_executed_units|^Done' "$build_dir/fuzz-$name.log" || true
  fi
done
exit $status
