#!/bin/sh
# Data parallelism over MPI on this machine: 2 (and 3) ranks through
# mpirun, loopback only, on two pocl devices (POCL_DEVICES="pthread
# pthread", set by meson). Checks:
#   - the C API (test_mpi_parts equal), both exchanges: a net with batch norm and dropout
#     trained over 2 and 3 ranks equals one net accumulating, bit for bit;
#   - clayer train --mpi over 2 and 3 ranks saves the model file of one
#     process with --accumulate, byte for byte, and prints its accuracies;
#   - a rank that stalls, dies or never joins ends the job with an error
#     within bounds;
#   - bad arguments (test_mpi_parts args, --batch that does not split).
# usage: mpi_test.sh MPIRUN TEST_MPI_PARTS CLAYER
set -u
mpirun=${1:?usage: mpi_test.sh MPIRUN TEST_MPI_PARTS CLAYER}
parts=${2:?}
clayer=${3:?}
work=$(mktemp -d "${TMPDIR:-/tmp}/clayer-mpi-XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
# CI runs as root; two cores hold several ranks; loopback and shared memory only.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl=self,vader,tcp OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
export OMPI_MCA_pml=ob1
# Under LeakSanitizer (scripts/test's ASan run): OpenMPI keeps some memory to
# the end, suppressed by library in tests/lsan.supp. For those frames to have
# a library name, its plugins must stay loaded and stacks be unwound in full.
export OMPI_MCA_mca_base_component_disable_dlclose=1 PMIX_MCA_mca_base_component_disable_dlclose=1
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"
failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
run() {
    tag=$1
    shift
    start=$(date +%s)
    timeout 120 "$@" >"$work/$tag.out" 2>"$work/$tag.err"
    rc=$?
    took=$(($(date +%s) - start))
}

# Both exchanges over 2 ranks, the default over 3 as well (time under ASan).
for how in allgather:2 allgather:3 bor:2; do
    np=${how#*:}
    how=${how%:*}
    run equal$np "$mpirun" -np $np "$parts" equal "$work" $how
    [ $rc -eq 0 ] || fail "test_mpi_parts equal over $np ranks ($how) exited $rc: $(cat "$work/equal$np.out" "$work/equal$np.err")"
    grep -q "equal: $np ranks, 4 updates: models bit-identical" "$work/equal$np.out" ||
        fail "equal $np ($how): $(cat "$work/equal$np.out")"
done

run args "$mpirun" -np 2 "$parts" args
[ $rc -eq 0 ] && grep -q "args: all checks passed" "$work/args.out" || fail "args: $(cat "$work/args.out" "$work/args.err")"

# A rank that stops taking part: rank 0 gives up after its 2 s timeout and ends the job.
run stall "$mpirun" -np 2 "$parts" stall
[ $rc -ne 0 ] || fail "stall: the job exited 0"
grep -q "stall: rank 0 failed as expected after" "$work/stall.out" || fail "stall: $(cat "$work/stall.out" "$work/stall.err")"
[ $took -le 30 ] || fail "stall: the job took $took s to end"
# A rank that exits without MPI_Finalize: mpirun or the timeout ends the job.
run die "$mpirun" -np 2 "$parts" die
[ $rc -ne 0 ] || fail "die: the job exited 0"
[ $took -le 30 ] || fail "die: the job took $took s to end"

common="--epochs 2 --limit 96 --test-limit 30 --optimizer sgd --lr 0.02 --weight-decay 0.001"
# A rank that never joins (a program that never calls MPI_Init): the
# clayer rank's join alarm ends the job after --mpi-timeout.
run join "$mpirun" -np 1 "$clayer" train --mpi --mpi-timeout 3 $common : -np 1 sleep 60
[ $rc -ne 0 ] || fail "join: the job exited 0"
grep -q "this rank did not join the MPI job within --mpi-timeout seconds" "$work/join.err" ||
    fail "join: $(cat "$work/join.out" "$work/join.err")"
[ $took -le 30 ] || fail "join: the job took $took s to end"
scores() {
    grep -o 'train loss [0-9.]*, train accuracy [0-9.]*%\|test accuracy [0-9.]*% ([0-9/]*)' "$1"
}
for np in 2 3; do
    run cli$np "$mpirun" -np $np "$clayer" train --mpi --device 0:0,0:1 --batch $((4 * np)) $common --save "$work/mpi$np.model"
    [ $rc -eq 0 ] || fail "clayer train --mpi over $np ranks exited $rc: $(cat "$work/cli$np.err")"
    grep -q "(rank 0 of $np MPI ranks, 4 samples each)" "$work/cli$np.out" || fail "banner: $(cat "$work/cli$np.out")"
    [ "$(grep -c '^epoch' "$work/cli$np.out")" -eq 2 ] || fail "$np ranks: one rank alone prints: $(cat "$work/cli$np.out")"
    run one$np "$clayer" train --device 0:1 --batch 4 --accumulate $np $common --save "$work/one$np.model"
    [ $rc -eq 0 ] || fail "train --accumulate $np exited $rc: $(cat "$work/one$np.err")"
    cmp -s "$work/mpi$np.model" "$work/one$np.model" || fail "$np ranks saved another model than one process with --accumulate $np"
    [ -n "$(scores "$work/cli$np.out")" ] && [ "$(scores "$work/cli$np.out")" = "$(scores "$work/one$np.out")" ] ||
        fail "accuracies differ: $(cat "$work/cli$np.out") vs $(cat "$work/one$np.out")"
done

# The other exchange gives the same bits.
run bor "$mpirun" -np 2 "$clayer" train --mpi --mpi-exchange bor --device 0:0,0:1 --batch 8 $common --save "$work/bor.model"
[ $rc -eq 0 ] || fail "clayer train --mpi --mpi-exchange bor exited $rc: $(cat "$work/bor.err")"
cmp -s "$work/bor.model" "$work/one2.model" || fail "--mpi-exchange bor saved another model than one process with --accumulate 2"

run split "$mpirun" -np 2 "$clayer" train --mpi --batch 7 $common
[ $rc -ne 0 ] || fail "--batch 7 over 2 ranks exited 0"
grep -q "train (rank 0 of 2): --batch 7 does not split into 2 equal micro-batches" "$work/split.err" || fail "split: $(cat "$work/split.err")"
run solo "$clayer" train --mpi-timeout 5 $common
[ $rc -eq 2 ] && grep -q -- "--mpi-timeout is --mpi's" "$work/solo.err" || fail "--mpi-timeout without --mpi: $(cat "$work/solo.err")"

[ $failures -eq 0 ] || exit 1
echo "mpi: all checks passed"
