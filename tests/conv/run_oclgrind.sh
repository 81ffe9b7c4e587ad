#!/bin/sh
# Run a test binary under oclgrind and fail on any diagnostic it reports.
# oclgrind prints out-of-bounds accesses, data races and uninitialised
# reads but still exits 0, so its messages go to a log file that must stay
# empty. usage: run_oclgrind.sh OCLGRIND TEST_BINARY ARGS...
set -u
oclgrind=$1
shift
log=$(mktemp "${TMPDIR:-/tmp}/oclgrind.XXXXXX")
trap 'rm -f "$log"' EXIT
# check's fork mode gains nothing here and doubles oclgrind's start-up.
CK_FORK=no "$oclgrind" --data-races --uninitialized --log "$log" "$@"
rc=$?
if [ -s "$log" ]; then
    echo "oclgrind reported errors:" >&2
    head -c 20000 "$log" >&2
    exit 1
fi
exit $rc
