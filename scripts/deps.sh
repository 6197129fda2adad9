#!/usr/bin/env bash
# Installs the Debian packages OpenSCI's build and tests need, when any is missing.
set -euo pipefail
pkgs=(build-essential pkg-config libcmocka-dev libibverbs-dev librdmacm-dev clang libclang-rt-14-dev)
# Peers measured beside osci-bench, and the vmlab's tools.
pkgs+=(ucx-utils perftest ibverbs-utils rdmacm-utils)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
if [ "$(id -u)" != 0 ]; then
    echo "deps: missing packages and not root; run: sudo apt-get install ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
