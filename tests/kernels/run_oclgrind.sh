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
# -cl-opt-disable: oclgrind 21.10's uninitialised-value checker stops with
# "Unsupported instruction: freeze" on what LLVM's optimiser makes of a
# division next to a remainder; unoptimised code keeps every access as
# written. CLAYER_CACHE=off: a cached binary would bypass those options.
CLAYER_CACHE=off CK_FORK=no "$oclgrind" --data-races --uninitialized --build-options -cl-opt-disable \
    --log "$log" "$@"
rc=$?
if [ -s "$log" ]; then
    echo "oclgrind reported errors:" >&2
    head -c 20000 "$log" >&2
    exit 1
fi
exit $rc
