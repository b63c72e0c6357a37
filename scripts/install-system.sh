#!/usr/bin/env bash
# Installs the Debian packages scalinglab's tests and built-in tasks need, only when missing.
# Idempotent: a machine that has them all runs no apt-get at all.
set -euo pipefail
packages=(
  postgresql            # the real PostgreSQL server the storage tests start on loopback
  chromium              # headless browser that renders the HTML report in tests
  dataset-fashion-mnist # image task data
  dict-gcide            # language-model task text
  sword-text-sparv sword-text-web diatheke  # translation task: aligned Bible verses
  espeak-ng flite sox   # speech task: synthesized spoken commands
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "scalinglab needs these Debian packages: sudo apt-get install -y ${missing[*]}" >&2
  exit 2
fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
