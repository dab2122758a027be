#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang, ASan+UBSan) into build-fuzz/ and fuzzes every target.
#   bash scripts/fuzz.sh            20 s per target (what the test suite runs)
#   bash scripts/fuzz.sh 600        a longer campaign: 10 minutes per target
# A crash leaves build-fuzz/fuzz-crash-<target>-* : fix it, then copy the input into
# tests/fuzz/regressions/<target>/ so every build replays it from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
seconds="${1:-20}"
command -v clang >/dev/null || { echo "fuzz.sh: needs clang and libclang-rt-14-dev (bash scripts/install-deps.sh --fuzz)" >&2; exit 1; }
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGD_FUZZ=ON -DGD_FUZZ_SECONDS="$seconds" \
  >/tmp/gendec-cmake-fuzz.log 2>&1 || { cat /tmp/gendec-cmake-fuzz.log >&2; exit 1; }
cmake --build build-fuzz -j "$(nproc)" --target $(cd tests/fuzz && ls fuzz_*.c | sed 's/\.c$//') \
  >/tmp/gendec-build-fuzz.log 2>&1 || { tail -30 /tmp/gendec-build-fuzz.log >&2; exit 1; }
cd build-fuzz
ctest -V -R '^fuzz/(setup|config|idx|norb|checkpoint)$' 2>&1 |
  tee /tmp/gendec-fuzz.log | grep -E 'Test +#|tests passed|Done [0-9]+ runs|stat::number_of_executed_units' || true
grep -h -o 'Done [0-9]* runs in [0-9]* second(s)' /tmp/gendec-fuzz.log || true
grep -q '100% tests passed' /tmp/gendec-fuzz.log
