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
# Leak checks (LeakSanitizer) are on for the tests that run in one process without Open MPI, off for those that
# start Open MPI (test_mpi_*, and test_cli_* / *.sh, which run gendec): Open MPI 4.1 leaves allocations of its
# plugins at exit, and as it unloads the plugins their stacks have no module, so no suppression can name them
# (with fast_unwind_on_malloc=0 they can, but a test then runs about 18 times longer: 2 s -> 37 s for
# reliability/test_no_space_sh, measured). scripts/memcheck.sh checks
# gendec's commands for leaks under valgrind, with suppressions for Open MPI.
mpi_tests='test_mpi_|test_cli_|_sh$'
(cd "$san" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
   GD_SANITIZED=1 ctest --output-on-failure -j 2 -E "$mpi_tests") || status=1
(cd "$san" && ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
   GD_SANITIZED=1 ctest --output-on-failure -j 2 -R "$mpi_tests") || status=1
exit $status
