#!/usr/bin/env bash
# Set up the JS side of the benchmarks with sodium-native 2.4.9 (JS must run at full speed there).
# sodium-native 2.x builds libsodium from source on node 20, which needs libtool, autoconf and automake.
# Idempotent: does nothing when bench/js/node_modules is already installed from the current lockfile.
set -euo pipefail
cd "$(dirname "$0")/js"

missing=()
for tool in libtool:libtool autoconf:autoconf automake:automake; do
  bin=${tool%%:*}; pkg=${tool##*:}
  command -v "$bin" >/dev/null 2>&1 || dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup-native: installing ${missing[*]} (needed to build sodium-native 2.4.9)" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

stamp=node_modules/.installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
  else
    npm install --no-audit --no-fund --loglevel=error
  fi
  touch "$stamp"
fi

backend=$(node -e "let n='sodium-javascript'; try { if (require('sodium-universal') === require('sodium-native')) n='sodium-native' } catch (_) {}; process.stdout.write(n)")
echo "setup-native: JS benchmarks run on $backend" >&2
if [ "$backend" != "sodium-native" ]; then
  echo "setup-native: sodium-native did not build; JS figures would be too slow to compare" >&2
  exit 1
fi
