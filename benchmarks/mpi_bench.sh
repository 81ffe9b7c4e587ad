#!/bin/sh
# One invocation, every comparison: for the fashion net and resnet18,
#   - 1 device against 2 in one process (replica_bench: replica groups),
#   - 1 MPI rank against 2 (mpi_bench, each rank on its own device), with
#     the gradient exchange by MPI_Allgather and by the MPI_BOR allreduce,
# the ratios, and the exchange's cost per step (mpi_bench.c says what each
# figure is). Loopback and shared memory only. On a machine with one CPU
# and POCL_DEVICES="pthread pthread", both devices (and both ranks) share
# its cores: the ratios say what splitting costs or saves there, not what
# a second real device would give.
#   POCL_DEVICES="pthread pthread" benchmarks/mpi_bench.sh build/benchmarks/mpi_bench [build/benchmarks/replica_bench]
#       [RUNS] [NET:BATCH ...]   (default: fashion:64 resnet18:8)
set -eu
bench=${1:?usage: mpi_bench.sh PATH/TO/mpi_bench [PATH/TO/replica_bench] [RUNS] [NET:BATCH ...]}
replica=${2:-}
runs=${3:-5}
shift $(($# < 3 ? $# : 3))
nets=${*:-fashion:64 resnet18:8}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl=self,vader,tcp OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo OMPI_MCA_pml=ob1
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
rate() {
    sed -n 's/.*images_per_s=\([0-9.]*\).*/\1/p'
}
for spec in $nets; do
    set -- $(echo "$spec" | tr : ' ')
    if [ -n "$replica" ]; then
        "$replica" --devices 0:0,0:1 --net "$1" --batch "$2" --runs "$runs"
    fi
    one=$(mpirun -np 1 "$bench" --net "$1" --batch "$2" --runs "$runs" --device 0:0,0:1)
    two=$(mpirun -np 2 "$bench" --net "$1" --batch "$2" --runs "$runs" --device 0:0,0:1)
    bor=$(mpirun -np 2 "$bench" --net "$1" --batch "$2" --runs "$runs" --device 0:0,0:1 --exchange bor)
    printf '%s\n%s\n%s\n' "$one" "$two" "$bor" | grep -v '^RESULT'
    r1=$(echo "$one" | rate)
    r2=$(echo "$two" | rate)
    r3=$(echo "$bor" | rate)
    echo "$1: images/s, 2 ranks / 1 rank: $(echo "$r2 $r1" | awk '{printf "%.2f", $1 / $2}') (allgather)," \
        "$(echo "$r3 $r1" | awk '{printf "%.2f", $1 / $2}') (bor)"
done
