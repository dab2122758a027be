#!/usr/bin/env bash
# The README's test command: installs what is missing, builds gendec (release and ASan+UBSan), and runs the
# whole test suite under ctest in both builds. Exits non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/install-deps.sh --slurm --data --fuzz
echo "== build (release)"
rel=$(bash scripts/build.sh)
echo "== build (ASan + UBSan)"
san=$(bash scripts/build.sh --sanitize)
status=0
echo "== fuzz (libFuzzer, 20 s per target; a longer campaign: bash scripts/fuzz.sh 600)"
bash scripts/fuzz.sh 20 || status=1
echo "== tests (release)"
(cd "$rel" && ctest --output-on-failure -j 2) || status=1
echo "== tests (ASan + UBSan)"
# Open MPI's own allocations are not ours to fix; leak checks stay on for gendec's single-process tests.
(cd "$san" && ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
   GD_SANITIZED=1 ctest --output-on-failure -j 2) || status=1
exit $status
