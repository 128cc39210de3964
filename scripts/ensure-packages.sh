#!/usr/bin/env bash
# Checks that the Debian 12 packages needed to build and test devauth are installed. As root it
# installs the missing ones. Otherwise it prints the command that installs them and fails.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config
  libboost1.81-dev libboost-url1.81-dev libboost-json1.81-dev
  libssl-dev libsodium-dev libsqlite3-dev libspdlog-dev libfmt-dev libtomlplusplus-dev
  libcli11-dev libqrencode-dev libjemalloc-dev libgtest-dev libgmock-dev sqlite3
  libpq-dev postgresql
)
# Extra packages named on the command line, for targets that need more (make lint, make fuzz).
packages+=("$@")

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query --show --showformat='${db:Status-Status}' "$package" 2>/dev/null || true)
  if [[ "$status" != "installed" ]]; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

if [[ "$(id -u)" -eq 0 ]]; then
  echo "Installing missing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "Missing Debian packages: ${missing[*]}" >&2
  echo "Install them, then run make again:" >&2
  echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
