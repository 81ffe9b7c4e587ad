#!/bin/sh
# 1 rank against 2 in one invocation: images/s of a data-parallel training
# step over MPI for the fashion net and resnet18, the ratio, and the
# gradient exchange's cost per step (benchmarks/mpi_bench.c says what each
# figure is). Loopback and shared memory only; on this machine both ranks
# share its cores, each on its own pocl device.
#   POCL_DEVICES="pthread pthread" benchmarks/mpi_bench.sh build/benchmarks/mpi_bench [RUNS]
set -eu
bench=${1:?usage: mpi_bench.sh PATH/TO/mpi_bench [RUNS]}
runs=${2:-5}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl=self,vader,tcp OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo OMPI_MCA_pml=ob1
lscpu | sed -n 's/^Model name: *//p; s/^CPU(s): *//p' | paste -sd' ' | sed 's/^/CPU: /; s/ \([0-9]*\)$/, \1 CPUs/'
for spec in "fashion 64" "resnet18 8"; do
    set -- $spec
    one=$(mpirun -np 1 "$bench" --net "$1" --batch "$2" --runs "$runs" --device 0:0,0:1)
    two=$(mpirun -np 2 "$bench" --net "$1" --batch "$2" --runs "$runs" --device 0:0,0:1)
    printf '%s\n%s\n' "$one" "$two" | grep -v '^RESULT'
    r1=$(echo "$one" | sed -n 's/.*images_per_s=\([0-9.]*\).*/\1/p')
    r2=$(echo "$two" | sed -n 's/.*images_per_s=\([0-9.]*\).*/\1/p')
    echo "$1: 2 ranks / 1 rank = $(echo "$r2 $r1" | awk '{printf "%.2f", $1 / $2}') x the images/s"
done
