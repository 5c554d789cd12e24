#!/usr/bin/env bash
# Installs what `make run` / `make test` need on a fresh Debian 12 machine, only when missing:
#   scripts/setup.sh build   Debian packages (scripts/debian-packages.txt) and a Rust toolchain
#   scripts/setup.sh test    the above, plus the Python venv for interop tests (scripts/requirements-test.txt)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mode="${1:-build}"

sudo_cmd=""
if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi

# 1. Debian packages: one list, installed only when one of them is missing.
mapfile -t pkgs < <(grep -v '^\s*#' "$here/debian-packages.txt" | sed '/^\s*$/d')
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. Rust (rustup) when cargo is absent.
if ! command -v cargo >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
  echo "setup: installing Rust with rustup"
  command -v curl >/dev/null 2>&1 || { $sudo_cmd apt-get update -qq; $sudo_cmd apt-get install -y -qq curl ca-certificates >/dev/null; }
  curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --default-toolchain 1.95.0
fi

[ "$mode" = test ] || exit 0

# 3. Python venv for the interop tests (zarr-python, xarray), outside the clone so CI reuses it.
venv="${EOPF_VENV:-$HOME/.cache/eopf-geozarr-venv}"
req="$here/requirements-test.txt"
stamp="$venv/.requirements.sha"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: creating the Python test environment in $venv"
  py=/usr/bin/python3
  [ -x "$py" ] || py="$(command -v python3)"
  rm -rf "$venv"
  "$py" -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -r "$req"
  echo "$want" > "$stamp"
fi
