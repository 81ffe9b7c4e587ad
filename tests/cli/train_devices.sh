#!/bin/sh
# `clayer train --device 0:0,0:1`: data-parallel over two pocl devices
# (POCL_DEVICES="pthread pthread", set by meson). The model file it saves is
# byte for byte that of one device at half the batch with --accumulate 2;
# bad device lists and batches that do not split are refused by name.
# usage: train_devices.sh PATH/TO/clayer
set -u
clayer=${1:?usage: train_devices.sh PATH/TO/clayer}
work=$(mktemp -d "${TMPDIR:-/tmp}/clayer-train-devices-XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
run() {
    tag=$1
    shift
    "$@" >"$work/$tag.out" 2>"$work/$tag.err"
    rc=$?
}
common="--epochs 2 --limit 64 --test-limit 32 --optimizer sgd --lr 0.02 --weight-decay 0.001"

run two "$clayer" train --device 0:0,0:1 --batch 8 $common --save "$work/two.model"
[ $rc -eq 0 ] || fail "train on 0:0,0:1 exited $rc: $(cat "$work/two.err")"
grep -q "and 0:1 .*(2 devices, 4 samples each)" "$work/two.out" || fail "banner: $(cat "$work/two.out")"

run one "$clayer" train --device 0:1 --batch 4 --accumulate 2 $common --save "$work/one.model"
[ $rc -eq 0 ] || fail "train on 0:1 with --accumulate 2 exited $rc: $(cat "$work/one.err")"
cmp -s "$work/two.model" "$work/one.model" || fail "two devices saved another model than one device accumulating"
# The same losses and accuracies, epoch by epoch.
scores() {
    grep -o 'train loss [0-9.]*, train accuracy [0-9.]*%\|test accuracy [0-9.]*% ([0-9/]*)' "$1"
}
[ -n "$(scores "$work/two.out")" ] && [ "$(scores "$work/two.out")" = "$(scores "$work/one.out")" ] ||
    fail "accuracies differ: $(cat "$work/two.out") vs $(cat "$work/one.out")"

run dup "$clayer" train --device 0:0,0:0 --batch 8 $common
[ $rc -ne 0 ] || fail "--device 0:0,0:0 exited 0"
grep -q "devices 0 and 1 of the list '0:0,0:0' are both 0:0" "$work/dup.err" || fail "duplicate: $(cat "$work/dup.err")"

run empty "$clayer" train --device 0:0,,0:1 --batch 8 $common
[ $rc -ne 0 ] || fail "--device 0:0,,0:1 exited 0"
grep -q "device 1 of the list '0:0,,0:1' is empty" "$work/empty.err" || fail "empty entry: $(cat "$work/empty.err")"

run unknown "$clayer" train --device 0:0,0:5 --batch 8 $common
[ $rc -ne 0 ] || fail "--device 0:0,0:5 exited 0"
grep -q "device 1 of the list ('0:5')" "$work/unknown.err" || fail "unknown device: $(cat "$work/unknown.err")"

run split "$clayer" train --device 0:0,0:1 --batch 7 $common
[ $rc -ne 0 ] || fail "--batch 7 over two devices exited 0"
grep -q "a batch of 7 does not split into 2 equal micro-batches" "$work/split.err" || fail "split: $(cat "$work/split.err")"

[ $failures -eq 0 ] || exit 1
echo "train_devices: all checks passed"
