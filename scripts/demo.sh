#!/usr/bin/env bash
# The README's first command: installs what is missing, builds gendec and runs the main job on the embedded
# default (no download).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/install-deps.sh
dir=$(bash scripts/build.sh)
"$dir/gendec" --version
"$dir/gendec" bench gemm --quick
