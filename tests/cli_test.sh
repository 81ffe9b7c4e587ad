#!/bin/sh
# The clayer command-line tool: exit codes and what it prints.
# usage: cli_test.sh PATH/TO/clayer   (exits 77, skipped, without OpenCL)
set -u
clayer=${1:?usage: cli_test.sh PATH/TO/clayer}
work=$(mktemp -d "${TMPDIR:-/tmp}/clayer-cli-test-XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# run NAME CMD...: runs CMD with stdout/stderr in $work/NAME.out/.err and
# sets $rc.
run() {
    tag=$1
    shift
    "$@" >"$work/$tag.out" 2>"$work/$tag.err"
    rc=$?
}

run devices "$clayer" devices
if [ $rc -ne 0 ] && grep -q "no OpenCL platform" "$work/devices.err"; then
    echo "skipping: no OpenCL platform" >&2
    exit 77
fi
[ $rc -eq 0 ] || fail "clayer devices exited $rc: $(cat "$work/devices.err")"
grep -q "(default)" "$work/devices.out" || fail "clayer devices marks no default device"

run json "$clayer" devices --json
[ $rc -eq 0 ] || fail "clayer devices --json exited $rc"
python3 -m json.tool "$work/json.out" >/dev/null 2>&1 || fail "clayer devices --json is not valid JSON"
# The first device's name, from the JSON, must be in the text listing too.
name=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["devices"][0]["name"])' "$work/json.out")
[ -n "$name" ] || fail "no device name in the JSON"
grep -qF "$name" "$work/devices.out" || fail "'$name' missing from clayer devices"

run demo "$clayer" demo
[ $rc -eq 0 ] || fail "clayer demo exited $rc: $(cat "$work/demo.err")"
grep -q "equal the CPU reference exactly" "$work/demo.out" || fail "clayer demo did not match the reference"

run nodev "$clayer" demo --device nosuchdevice
[ $rc -ne 0 ] || fail "clayer demo --device nosuchdevice exited 0"
grep -qF "$name" "$work/nodev.err" || fail "the error for nosuchdevice does not list '$name'"
grep -q "nosuchdevice" "$work/nodev.err" || fail "the error does not name the selector"

run badsel "$clayer" demo --device 'gpu:'
[ $rc -ne 0 ] || fail "clayer demo --device 'gpu:' exited 0"
grep -q "malformed" "$work/badsel.err" || fail "no 'malformed' in: $(cat "$work/badsel.err")"

run noplat env OCL_ICD_VENDORS=/nonexistent "$clayer" devices
[ $rc -ne 0 ] || fail "clayer devices without platforms exited 0"
grep -q "no OpenCL platform" "$work/noplat.err" || fail "no 'no OpenCL platform' in: $(cat "$work/noplat.err")"

run unknown "$clayer" frobnicate
[ $rc -eq 2 ] || fail "unknown command exited $rc, want 2"
grep -q "unknown command 'frobnicate'" "$work/unknown.err" || fail "unknown command not named"
run usage "$clayer"
[ $rc -eq 2 ] || fail "no command exited $rc, want 2"
run badopt "$clayer" devices --yaml
[ $rc -eq 2 ] || fail "unknown option exited $rc, want 2"

run version "$clayer" version
[ $rc -eq 0 ] && grep -q "^clayer [0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*$" "$work/version.out" ||
    fail "clayer version: rc $rc, '$(cat "$work/version.out")'"

# Built-in nets by name (no such file here): the model zoo's published totals.
for net in "resnet50 25,557,032" "googlenet-tv 6,624,904" "zfnet 62,357,608"; do
    set -- $net
    run "summary-$1" "$clayer" summary "$1"
    [ $rc -eq 0 ] || fail "clayer summary $1 exited $rc: $(cat "$work/summary-$1.err")"
    grep -q "= $2 parameters" "$work/summary-$1.out" || fail "clayer summary $1 does not print $2 parameters"
done
run nonet "$clayer" summary nosuchnet
[ $rc -ne 0 ] || fail "clayer summary nosuchnet exited 0"
grep -q "built-in nets: .*resnet50" "$work/nonet.err" || fail "clayer summary nosuchnet does not list the built-in nets"

[ $failures -eq 0 ] || exit 1
echo "cli: all checks passed"
