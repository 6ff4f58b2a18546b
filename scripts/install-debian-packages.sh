#!/usr/bin/env bash
# Install the Debian packages edgedrnn needs (Verilator for RTL co-simulation, espeak-ng
# for the spoken-digits data set, libevent and json-c for LiteX's SoC simulator), only when
# they are missing; gcc-riscv64-unknown-elf builds the SoC CPU's firmware and
# openfpgaloader programs a board (`edgedrnn soc load`, docs/board.md).
set -euo pipefail
pkgs=(verilator espeak-ng libsndfile1 libevent-dev libjson-c-dev gcc-riscv64-unknown-elf
  openfpgaloader)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "edgedrnn: installing Debian packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "edgedrnn: need root (or sudo) to apt-get install ${missing[*]}" >&2; exit 1; fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
