# gendec config on the command line: exit codes, the one-line error format, --show/--hash/--doc, and
# docs/config.md being the current schema reference.
set -u
G="${GD_BINARY:?run through ctest}"
SRC="${GD_SOURCE_DIR:?run through ctest}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# expect_err <want exit> <want stderr line (exact)> <gendec args...>
expect_err() {
  local want_rc=$1 want=$2; shift 2
  "$G" "$@" >"$T/out" 2>"$T/err"; local rc=$?
  [ "$rc" = "$want_rc" ] || fail "gendec $*: exit $rc, want $want_rc"
  [ "$(cat "$T/err")" = "$want" ] || fail "gendec $*: stderr '$(cat "$T/err")', want '$want'"
  [ ! -s "$T/out" ] || fail "gendec $*: printed on stdout on failure"
}

# a valid file: exit 0, one line on stdout
cat >"$T/ok.yaml" <<'EOF'
data: {set: mnist}
infer:
  beta: 7
quick:
  train.epochs: 1
EOF
out=$("$G" config "$T/ok.yaml") || fail "valid file: exit $?"
case "$out" in "$T/ok.yaml: ok (experiment ok, scale full, config hash "????????????????")") ;;
  *) fail "valid file: '$out'" ;; esac

# errors: exit 1, "gendec: file:line:col: what (how to fix)"
printf 'seed: 3\ninfer:\n  beat: 7\n' >"$T/unknown.yaml"
expect_err 1 "gendec: $T/unknown.yaml:3:3: unknown key 'infer.beat' (did you mean 'infer.beta'? 'gendec config --help' lists every key)" \
  config "$T/unknown.yaml"
printf 'train:\n  batch: many\n' >"$T/type.yaml"
expect_err 1 "gendec: $T/type.yaml:2:10: train.batch: 'many' is not an integer (expected an integer in [1, 1e6])" \
  config "$T/type.yaml"
printf 'infer: {yl: 0.8}\n' >"$T/pair.yaml"
expect_err 1 "gendec: $T/pair.yaml:1:13: infer.yl = 0.8 must be smaller than infer.yu = 0.6 (lower infer.yl or raise infer.yu)" \
  config "$T/pair.yaml"
expect_err 1 "gendec: --set 'attack.fgm.eps=[0,1.5]': attack.fgm.eps: 1.5 is out of range (allowed: [0, 1])" \
  config "$T/ok.yaml" --set 'attack.fgm.eps=[0,1.5]'
expect_err 1 "gendec: $T/missing.yaml: cannot open the experiment file: No such file or directory (check the path; experiment files live in experiments/)" \
  config "$T/missing.yaml"
# a later override repairs an earlier value: the pair rule looks at the result
"$G" config "$T/pair.yaml" --set infer.yu=0.9 >/dev/null || fail "pair repaired by --set"

# usage errors: exit 2
"$G" config >/dev/null 2>&1; [ $? = 2 ] || fail "no file: want exit 2"
"$G" config "$T/ok.yaml" --bogus >/dev/null 2>&1; [ $? = 2 ] || fail "unknown option: want exit 2"
"$G" config "$T/ok.yaml" --set >/dev/null 2>&1; [ $? = 2 ] || fail "--set without value: want exit 2"
"$G" config "$T/ok.yaml" "$T/ok.yaml" >/dev/null 2>&1; [ $? = 2 ] || fail "two files: want exit 2"

# --show: the resolved YAML, loadable again with the same hash; quick applied with --set scale=quick
"$G" config "$T/ok.yaml" --set scale=quick --show >"$T/resolved.yaml" || fail "--show"
grep -q '^scale: quick$' "$T/resolved.yaml" || fail "--show: scale"
grep -q '^  epochs: 1$' "$T/resolved.yaml" || fail "--show: quick: not applied"
grep -q '^  beta: 7.0$' "$T/resolved.yaml" || fail "--show: infer.beta"
h1=$("$G" config "$T/ok.yaml" --set scale=quick | sed 's/.*config hash //; s/)$//')
h2=$("$G" config "$T/resolved.yaml" --set experiment.name=ok | sed 's/.*config hash //; s/)$//')
[ -n "$h1" ] && [ "$h1" = "$h2" ] || fail "round trip hash '$h1' vs '$h2'"

# --hash: sections; insensitive to keys outside them; an unknown section is an error
d1=$("$G" config "$T/ok.yaml" --hash seed,data)
d2=$("$G" config "$T/ok.yaml" --hash seed,data --set infer.beta=3)
d3=$("$G" config "$T/ok.yaml" --hash seed,data --set data.n_test=5)
[ "${#d1}" = 16 ] && [ "$d1" = "$d2" ] && [ "$d1" != "$d3" ] || fail "--hash: '$d1' '$d2' '$d3'"
"$G" config "$T/ok.yaml" --hash dta >/dev/null 2>"$T/err"; rc=$?
[ $rc = 1 ] && grep -q "^gendec: --hash: 'dta' names a section that does not exist" "$T/err" || fail "--hash dta: $rc $(cat "$T/err")"

# --defaults with overrides
"$G" config --defaults --set seed=5 --show | grep -q '^seed: 5$' || fail "--defaults --set"

# every shipped experiment validates at both scales
for f in "$SRC"/experiments/*.yaml; do
  "$G" config "$f" >/dev/null || fail "$f (full)"
  "$G" config "$f" --set scale=quick >/dev/null || fail "$f (quick)"
done

# the reference: --help lists every key; docs/config.md is exactly --doc (regenerate it when this fails:
# build/gendec config --doc > docs/config.md)
"$G" config --help >"$T/help" || fail "--help exit"
n_keys=$(grep -c '^| `' "$T/help")
[ "$n_keys" -gt 100 ] || fail "--help lists $n_keys keys"
grep -q '^| `infer.beta` | float | `5` | \[0, 10000\] |' "$T/help" || fail "--help: infer.beta row"
"$G" config --doc >"$T/doc.md" || fail "--doc exit"
diff -u "$SRC/docs/config.md" "$T/doc.md" >"$T/diff" || fail "docs/config.md is stale: run 'build/gendec config --doc > docs/config.md'
$(head -20 "$T/diff")"

if [ $fails -gt 0 ]; then echo "test_cli.sh: $fails failed" >&2; exit 1; fi
echo "test_cli.sh: all passed"
