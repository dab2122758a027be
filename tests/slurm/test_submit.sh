#!/usr/bin/env bash
# `gendec submit` end to end on a real single-node Slurm (scripts/slurm-local.sh), with the real stages: the
# quick traffic-sign experiment with a 2-point sweep grid, 2 MPI tasks per MPI stage, in pipeline order
# (check, data, train, cnn, sweep as a 2-task job array, eval, report). Checks that every job completes, that
# the MPI stages ran as 2-rank MPI steps, that model.h5, cnn.h5, sweep.h5 and eval.h5 are complete (complete=1),
# that the sweep's array slices were merged into sweep.h5 with every grid point, that sweep.h5 and eval.h5 hold
# the same per-point and per-image values as `gendec run` of the same config outside Slurm (mpiexec -n 2),
# that eval used the sweep's best point, and that the report was written.
set -euo pipefail
me="test_submit"
source "${GD_SOURCE_DIR:?set GD_SOURCE_DIR to the source tree}/tests/slurm/slurm_lib.sh"
for t in h5dump h5ls mpiexec; do command -v "$t" >/dev/null 2>&1 || skip "'$t' is not installed"; done
export OPENBLAS_NUM_THREADS=1

cd "$work"
run="$work/run"
ref="$work/ref"
sets=(--set scale=quick --set 'sweep.beta=[5, 7]' --set 'sweep.c=[0.01]')

t1=$SECONDS
plan=$("$bin" submit "$src/experiments/traffic_signs.yaml" "${sets[@]}" --out "$run" \
  --set slurm.tasks=2 --set slurm.nodes=1 --set slurm.time=00:05:00) || fail "gendec submit failed"
echo "$plan"
tsv="$run/jobs/submitted.tsv"
[ -s "$tsv" ] || fail "no $tsv"
mapfile -t ids < <(grep -v '^#' "$tsv" | cut -f2)
jobs_submitted+=("${ids[@]}")
stages=$(grep -v '^#' "$tsv" | cut -f1 | tr '\n' ' ')
[ "$stages" = "check data train cnn sweep eval report " ] || fail "submitted stages: '$stages'"

# Meanwhile, the same config outside Slurm: gendec run on 2 ranks (the reference). Its own data cache.
(mkdir -p "$ref" && cd "$ref" &&
  mpiexec --allow-run-as-root --oversubscribe -n 2 "$bin" run "$src/experiments/traffic_signs.yaml" "${sets[@]}" \
    --out "$ref/run" >"$work/ref.log" 2>&1) || fail "gendec run (the reference) failed: $(tail -20 "$work/ref.log")"
echo "$me: reference gendec run done $((SECONDS - t1)) s after submission"

wait_done 240 "${ids[@]}"
echo "$me: all jobs ended $((SECONDS - t1)) s after submission"
logs() { cat "$run"/logs/"$1"-*.out 2>/dev/null; }
for i in "${!ids[@]}"; do
  s=$(sed -n "$((i + 1))p" <(grep -v '^#' "$tsv" | cut -f1))
  (expect_completed "${ids[$i]}") || fail "stage $s (job ${ids[$i]}) failed; its log:
$(logs "$s" | tail -30)"
done

# The MPI stages ran as 2-rank MPI steps, each array task on its own slice.
grep -q 'MPI world: 2 ranks on 1 node' <<<"$(logs check)" || fail "check: no 2-rank MPI world: $(logs check)"
grep -q 'gendec train: .* 2 ranks' <<<"$(logs train)" || fail "train: not 2 ranks: $(logs train)"
grep -q 'gendec train: CNN .* 2 ranks' <<<"$(logs cnn)" || fail "cnn: not 2 ranks: $(logs cnn)"
grep -q 'gendec eval: .* on 2 ranks' <<<"$(logs eval)" || fail "eval: not 2 ranks: $(logs eval)"
for i in 0 1; do
  l=$(cat "$run"/logs/sweep-*_"$i".out 2>/dev/null) || fail "no log of sweep array task $i"
  grep -q -- "--slice $i --slices 2" <<<"$l" || fail "sweep task $i: not slice $i of 2: $l"
  grep -q 'on 2 ranks' <<<"$l" || fail "sweep task $i: not 2 ranks: $l"
done
[ "$(grep -c 'merged into' <<<"$(cat "$run"/logs/sweep-*.out)")" = 1 ] ||
  fail "the sweep slices were not merged exactly once: $(cat "$run"/logs/sweep-*.out)"

# complete=1 on every stage output; the report.
attr() { h5dump -a "/$2" "$1" 2>/dev/null | sed -n 's/^ *(0): *//p' | tr -d '"'; }
for f in model cnn sweep eval; do
  [ -f "$run/$f.h5" ] || fail "no $run/$f.h5"
  [ "$(attr "$run/$f.h5" complete)" = 1 ] || fail "$f.h5: complete is '$(attr "$run/$f.h5" complete)', expected 1"
done
[ "$(attr "$run/cnn.h5" kind)" = cnn ] || fail "cnn.h5: kind '$(attr "$run/cnn.h5" kind)'"
[ "$(attr "$run/model.h5" world_size)" = 2 ] || fail "model.h5: world_size '$(attr "$run/model.h5" world_size)'"
[ -s "$run/report.md" ] || fail "no report $run/report.md: $(logs report | tail -20)"
grep -q -i 'traffic' "$run/report.md" || fail "report.md does not mention the traffic-sign experiment"
ls "$run"/fig*.png >/dev/null 2>&1 || fail "the report wrote no figure"

# The merged sweep: every grid point, one per slice, no slice missing.
[ "$(h5ls "$run/sweep.h5/sweep/points" | sed -n 's/.*Dataset {\([^}]*\)}.*/\1/p')" = "2, 6" ] ||
  fail "sweep.h5: points $(h5ls "$run/sweep.h5/sweep/points")"
[ "$(h5dump -a /sweep/total_points "$run/sweep.h5" | sed -n 's/^ *(0): *//p')" = 2 ] || fail "sweep.h5: total_points"

# Same numbers as outside Slurm: every dataset of sweep.h5 and eval.h5 except the wall-clock times.
bits() { # bits FILE DATASET OUT: the raw bytes (little endian) of the dataset
  h5dump -d "$2" -b LE -o "$3" "$1" >/dev/null || fail "h5dump -d $2 $1 failed"
}
same() { # same FILE: every dataset (but time) of run/FILE equals ref/run/FILE bit for bit
  local d n=0
  while read -r d; do
    case "$d" in */time) continue ;; esac
    bits "$run/$1" "$d" "$work/a.bin"
    bits "$ref/run/$1" "$d" "$work/b.bin"
    [ -s "$work/a.bin" ] || fail "$1 $d: empty"
    cmp -s "$work/a.bin" "$work/b.bin" || fail "$1 $d differs from the one of gendec run outside Slurm:
$(diff <(h5dump -d "$d" -y -w 0 "$run/$1") <(h5dump -d "$d" -y -w 0 "$ref/run/$1") | head -10)"
    n=$((n + 1))
  done < <(h5ls -r "$run/$1" | awk '$2 == "Dataset" { print $1 }')
  [ "$n" -ge 5 ] || fail "$1: only $n datasets compared"
  echo "$me: $1: $n datasets bit-identical to gendec run's"
}
same sweep.h5
same eval.h5
[ -s "$ref/run/eval.h5" ] || fail "the reference run wrote no eval.h5"
grep -q 'using the best point of .*sweep.h5' <<<"$(logs eval)" || fail "eval did not use the sweep's best point: $(logs eval)"
echo "$me: ok: 7 real stages, 2-rank MPI steps, 2-slice sweep array merged, outputs complete, eval and sweep" \
  "identical to gendec run outside Slurm ($((SECONDS - t1)) s)"
