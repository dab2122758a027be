#!/usr/bin/env bash
# Files written by gendec are plain HDF5: h5dump (hdf5-tools) and, when installed, h5py read them without gendec.
set -euo pipefail
command -v h5dump >/dev/null || { echo "h5dump not installed (Debian package hdf5-tools)" >&2; exit 77; }
bin="$(dirname "$GD_BINARY")/test_h5"
[ -x "$bin" ] || { echo "test_h5 not built next to $GD_BINARY" >&2; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$bin" --sample "$dir/sample.h5"
[ -f "$dir/sample.h5" ] && ! ls "$dir" | grep -q '\.tmp\.' || { echo "FAIL: no committed file or a leftover temporary" >&2; exit 1; }

out=$(h5dump "$dir/sample.h5")
fail() { echo "FAIL: $1" >&2; echo "$out" >&2; exit 1; }
grep -q 'ATTRIBUTE "kind"' <<<"$out" || fail "no kind attribute"
grep -q '"eval"' <<<"$out" || fail "kind is not eval"
grep -q 'ATTRIBUTE "complete"' <<<"$out" || fail "no complete attribute"
grep -q 'ATTRIBUTE "config_yaml"' <<<"$out" || fail "no config_yaml attribute"
for a in gendec_version git_revision world_size created; do grep -q "ATTRIBUTE \"$a\"" <<<"$out" || fail "no $a"; done
grep -q 'DATASET "y_star"' <<<"$out" || fail "no per_image/y_star"
grep -q 'H5T_IEEE_F32LE' <<<"$out" || fail "y_star is not float32"
grep -q 'H5T_STD_I64LE' <<<"$out" || fail "steps is not int64"
grep -q 'DATASPACE  SIMPLE { ( 2, 3 ) / ( 2, 3 ) }' <<<"$out" || fail "y_star shape is not (2, 3)"
h5dump -d /per_image/y_star -y "$dir/sample.h5" | tr -d ' \n' | grep -q '{0.5,0.25,0.125,1,2,3}' || fail "y_star values"
h5dump -d /per_image/steps -y "$dir/sample.h5" | tr -d ' \n' | grep -q '{10,20,30,-40}' || fail "steps values (deflated)"
h5dump -a /complete "$dir/sample.h5" | grep -q '(0): 1' || fail "complete is not 1"

if python3 -c 'import h5py' 2>/dev/null; then
  python3 - "$dir/sample.h5" <<'PY' || { echo "FAIL: h5py could not read the file as documented" >&2; exit 1; }
import sys, h5py
def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)
f = h5py.File(sys.argv[1], "r")
assert text(f.attrs["kind"]) == "eval", f.attrs["kind"]
assert int(f.attrs["complete"]) == 1
assert text(f.attrs["config_yaml"]).startswith("experiment: sample")
assert f["per_image/y_star"].shape == (2, 3) and f["per_image/y_star"].dtype == "float32"
assert list(f["per_image/steps"][:]) == [10, 20, 30, -40]
assert text(f["per_image"].attrs["units"]) == "probability"
assert f["per_image/y_star"].attrs["threshold"] == 0.75
PY
else
  echo "note: h5py not installed, only h5dump checked" >&2
fi
echo "test_h5dump: ok"
