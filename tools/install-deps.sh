#!/usr/bin/env bash
# Installs the Debian packages the build needs, when any is missing (apt-get needs root).
set -euo pipefail
packages=(pkg-config libopenblas-dev libjpeg-dev libpng-dev zlib1g-dev libsqlite3-dev python3-pip)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y "${missing[@]}"
