#!/usr/bin/env python3
"""clayer compare on two synthetic bench files of many layers (default
100,000 each, half the names shared): how long it takes. A quadratic layer
lookup took 75 s for 40,000 names; sorted lookups take about a second.

usage: compare_scale.py --clayer PATH [--layers N] [--svg] [--max-seconds S]
--max-seconds fails the run above S (the bench-smoke suite sets a generous
bound, far above the sorted code's time and far below the quadratic one's).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def bench_file(path, layers, offset):
    """A minimal valid clayer-bench file (docs/bench-format.md) of `layers`
    layers named layer{offset}..., each a conv of 0.01 ms."""
    d = {
        "schema": "clayer-bench", "schema_version": 1, "net": "synthetic", "mode": "infer", "batch": 1,
        "device": {"name": "none", "driver_version": "0"},
        "totals": {"median_ms": layers * 0.01, "images_per_s": 1.0},
        "layers": [{"name": f"layer{offset + i:07d}", "type": "conv", "algo": "direct", "median_ms": 0.01}
                   for i in range(layers)],
    }
    with open(path, "w") as f:
        json.dump(d, f)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clayer", required=True)
    ap.add_argument("--layers", type=int, default=100000)
    ap.add_argument("--svg", action="store_true", help="also write the chart")
    ap.add_argument("--max-seconds", type=float, default=0)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        pa, pb = os.path.join(work, "a.json"), os.path.join(work, "b.json")
        bench_file(pa, a.layers, 0)
        bench_file(pb, a.layers, a.layers // 2)
        cmd = [a.clayer, "compare", pa, pb] + (["--svg", os.path.join(work, "c.svg")] if a.svg else [])
        t = time.monotonic()
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        took = time.monotonic() - t
        if p.returncode != 0:
            sys.exit(f"clayer compare exited {p.returncode}: {p.stderr}")
        rows = [l for l in p.stdout.splitlines() if l.startswith("layer")]
        want = a.layers + a.layers // 2 + 1  # the union, and the header
        if len(rows) != want:
            sys.exit(f"{len(rows)} layer rows, want {want}")
        print(f"clayer compare, 2 files of {a.layers} layers ({want - 1} distinct names): {took:.2f} s")
        if a.max_seconds and took > a.max_seconds:
            sys.exit(f"slower than the bound of {a.max_seconds} s")


if __name__ == "__main__":
    main()
