#!/usr/bin/env bash
# Fails when a C++ file under src/, tests/, fuzz/ or bench/ differs from what clang-format makes
# of it with the root .clang-format. Fix with: clang-format -i FILE.
set -euo pipefail
cd "$(dirname "$0")/.."

clang_format=${CLANG_FORMAT:-clang-format}
directories=()
for directory in src tests fuzz bench; do
  if [[ -d "$directory" ]]; then
    directories+=("$directory")
  fi
done

mapfile -t files < <(find "${directories[@]}" -type f \( -name '*.cc' -o -name '*.h' -o -name '*.cpp' -o -name '*.hpp' \) | sort)
echo "clang-format: checking ${#files[@]} files"
if ! "$clang_format" --dry-run --Werror "${files[@]}"; then
  echo "clang-format: the files above are not formatted; run clang-format -i on them" >&2
  exit 1
fi
