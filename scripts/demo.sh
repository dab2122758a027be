#!/usr/bin/env bash
# The README's first command: installs what is missing, builds gendec, and runs the main job: the traffic-sign
# novelty experiment of the paper (§4.1) end to end (data -> c-VAE -> CNN baseline -> classification -> report).
# Nothing is downloaded: the traffic signs are rendered. Extra arguments go to `gendec run`, e.g.
#   bash scripts/demo.sh --set scale=quick      # the seconds-long version the tests run
# A second run of the same command reuses every finished stage (results/traffic_signs/<run id>/).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/install-deps.sh
dir=$(bash scripts/build.sh)
"$dir/gendec" --version
start=$(date +%s)
out=$("$dir/gendec" run experiments/traffic_signs.yaml "$@" | tee /dev/stderr)
run=$(sed -n 's/^run folder //p' <<<"$out")
echo
echo "== traffic-sign novelty (paper: CNN 99% \"left turn\", gendec 95% correct), $(($(date +%s) - start)) s:"
sed -n '/^## Novel objects/,/^Settings/p' "$run/report.md" | grep '^|'
echo
echo "report: $run/report.md (LaTeX: $run/tables.tex; figures: $run/fig*.png)"
