#!/usr/bin/env bash
# Configures and builds gendec into build/ (or build-asan/ with --sanitize). Prints the build folder.
# The logs carry the PID: several checkouts may build at once.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build; extra=()
if [ "${1:-}" = "--sanitize" ]; then dir=build-asan; extra=(-DGD_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo); fi
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DGD_WERROR=ON "${extra[@]}" >"/tmp/gendec-cmake-$dir.$$.log" 2>&1 ||
  { cat "/tmp/gendec-cmake-$dir.$$.log" >&2; exit 1; }
cmake --build "$dir" -j "$(nproc)" >"/tmp/gendec-build-$dir.$$.log" 2>&1 ||
  { grep -E 'error|warning' "/tmp/gendec-build-$dir.$$.log" >&2 || tail -30 "/tmp/gendec-build-$dir.$$.log" >&2; exit 1; }
rm -f "/tmp/gendec-cmake-$dir.$$.log" "/tmp/gendec-build-$dir.$$.log"
echo "$dir"
