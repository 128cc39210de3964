#!/usr/bin/env bash
# Runs clang-tidy (with the root .clang-tidy) over the project's C++ sources listed in
# BUILD_DIR/compile_commands.json, two files at a time, and fails when a finding is not in
# .clang-tidy-baseline. The baseline lists accepted findings as "path check", one per line,
# without line numbers, so that edits elsewhere in a file do not break it.
#
# Usage: scripts/clang-tidy-check.sh [--update]
#   --update  rewrites .clang-tidy-baseline with today's findings instead of comparing.
# Environment: BUILD_DIR (default build), TIDY_JOBS (default 2), CLANG_TIDY (default clang-tidy),
# TIDY_DIRS (default src|bench).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

build_dir=${BUILD_DIR:-build}
jobs=${TIDY_JOBS:-2}
clang_tidy=${CLANG_TIDY:-clang-tidy}
baseline=.clang-tidy-baseline
update=0
if [[ "${1:-}" == "--update" ]]; then
  update=1
fi

if [[ ! -f "$build_dir/compile_commands.json" ]]; then
  echo "clang-tidy: $build_dir/compile_commands.json not found; configure the build first" >&2
  exit 1
fi

# TIDY_DIRS selects the top-level folders to check, as an extended regular expression.
tidy_dirs=${TIDY_DIRS:-src|bench}
mapfile -t files < <(grep -o '"file": "[^"]*"' "$build_dir/compile_commands.json" |
  sed -e 's/^"file": "//' -e 's/"$//' |
  grep -E "^$root/($tidy_dirs)/" | sort -u)
if ((${#files[@]} == 0)); then
  echo "clang-tidy: no source files found in $build_dir/compile_commands.json" >&2
  exit 1
fi

output_dir=$(mktemp -d)
trap 'rm -rf "$output_dir"' EXIT

echo "clang-tidy: checking ${#files[@]} files with $jobs jobs"
start=$(date +%s)
printf '%s\n' "${files[@]}" |
  xargs -P "$jobs" -I{} sh -c \
    '"$0" -p "$1" --quiet "$2" > "$3/$(echo "$2" | tr / _).log" 2>&1 || true' \
    "$clang_tidy" "$build_dir" {} "$output_dir"
echo "clang-tidy: done in $(($(date +%s) - start)) s"

# A finding line is "FILE:LINE:COL: warning: MESSAGE [CHECK]"; a few have no location.
cat "$output_dir"/*.log |
  sed -n -E 's/^([^ :]*):[0-9]+:[0-9]+: (warning|error): .* \[([^]]+)\]$/\1 \3/p; s/^(warning|error): .* \[([^]]+)\]$/- \2/p' |
  sed -e "s|^$root/||" | sort -u > "$output_dir/findings"

if ((update)); then
  cp "$output_dir/findings" "$baseline"
  echo "clang-tidy: wrote $(wc -l < "$baseline") accepted findings to $baseline"
  exit 0
fi

touch "$baseline"
new_findings=$(comm -23 "$output_dir/findings" <(sort -u "$baseline"))
if [[ -n "$new_findings" ]]; then
  echo "clang-tidy: findings not in $baseline (file and check):" >&2
  echo "$new_findings" >&2
  echo "clang-tidy: details:" >&2
  while read -r path check; do
    grep -h -A3 -F "[$check]" "$output_dir"/*.log | grep -A3 -F "$path" | head -20 >&2 || true
  done <<< "$new_findings"
  echo "Fix them, or if a finding is accepted, rerun with --update and commit the baseline." >&2
  exit 1
fi
echo "clang-tidy: no new findings ($(wc -l < "$output_dir/findings") accepted in $baseline)"
