#!/usr/bin/env python3
"""Fault injection over every OpenCL call of fault_driver.

usage: run_faults.py DRIVER SHIM [--jobs N] [--only K,K,...] [--stride N]

A first run under the shim fills a kernel cache folder; a second, from a
copy of it, counts the OpenCL calls (N) and records the clean hashes. Then
for every k in 1..N the driver runs again, from its own copy of that cache
(so every run sees the same cache and the same calls), with call k failing.
Each run must exit 0 (the driver's own checks: the failure was the
injected one and said why; a retry worked or refused clearly), without a
signal or a sanitizer report, with the fault fired, and print the clean
run's hashes. In an AddressSanitizer build the driver links libasan, which
must come first in LD_PRELOAD, before the shim; each run there takes
several times longer, so meson passes --stride 3 in that build (every call
kind and every public call still fail there; the plain build fails every k).
"""
import argparse
import collections
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile

SANITIZER = re.compile(r"ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer")


def asan_runtime(driver):
    """The libasan the driver links, or None for a plain build."""
    out = subprocess.run(["ldd", driver], capture_output=True, text=True).stdout
    m = re.search(r"(\S*libasan\.so\S*) => (\S+)", out)
    return m.group(2) if m else None


def run(args, top, cache_src, name, k=None, count=False):
    """One driver run in its own folder with a copy of the cache."""
    work = os.path.join(top, name)
    os.makedirs(work)
    cache = os.path.join(work, "cache")
    if cache_src:
        shutil.copytree(cache_src, cache)
    env = dict(os.environ)
    env["CLAYER_CACHE_DIR"] = cache
    env["LD_PRELOAD"] = ":".join(p for p in (args.asan, args.shim) if p)
    env.pop("CLY_FAULT_AT", None)
    if k is not None:
        env["CLY_FAULT_AT"] = str(k)
    if count:
        env["CLY_FAULT_COUNT"] = "1"
    try:
        p = subprocess.run([args.driver, work], env=env, capture_output=True, text=True, timeout=args.timeout)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        rc, out, err = "timeout", (e.stdout or b"").decode(errors="replace"), (e.stderr or b"").decode(errors="replace")
    if k is not None and rc == 0:
        shutil.rmtree(work, ignore_errors=True)  # keep a failed run's folder for a look
    return rc, out, err


def hashes(out):
    """The stage hashes of the run that completed: after a restart, the fresh one's."""
    lines = out.splitlines()
    if "restart" in lines:
        lines = lines[len(lines) - lines[::-1].index("restart"):]
    return [line for line in lines if line.startswith("hash ")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("driver")
    ap.add_argument("shim")
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("CLY_FAULT_JOBS", "2")))
    ap.add_argument("--only", help="comma-separated call indices instead of all")
    ap.add_argument("--stride", type=int, default=1, help="every N-th call index from 1 (the sanitizer build)")
    ap.add_argument("--timeout", type=float, default=120)
    args = ap.parse_args()
    args.driver = os.path.abspath(args.driver)
    args.shim = os.path.abspath(args.shim)
    args.asan = asan_runtime(args.driver)

    top = tempfile.mkdtemp(prefix="clayer-faults-")
    ok = False
    try:
        rc, out, err = run(args, top, None, "warm", count=True)
        if rc != 0:
            print(f"the clean warm-up run failed ({rc}):\n{out}\n{err}")
            return 1
        cache = os.path.join(top, "warm", "cache")
        rc, out, err = run(args, top, cache, "clean", count=True)
        m = re.search(r"cly_fault: calls (\d+)", err)
        if rc != 0 or not m:
            print(f"the clean counting run failed ({rc}):\n{out}\n{err}")
            return 1
        n = int(m.group(1))
        clean = hashes(out)
        if len(clean) != 6 or "restart" in out:
            print(f"the clean run printed {len(clean)} hashes, not 6:\n{out}")
            return 1
        ks = [int(x) for x in args.only.split(",")] if args.only else list(range(1, n + 1, max(args.stride, 1)))
        print(f"{n} OpenCL calls in a clean run; failing each of {len(ks)} in turn ({args.jobs} at a time)"
              + (", under AddressSanitizer" if args.asan else ""))
        sys.stdout.flush()

        bad = []
        where = collections.Counter()  # which call failed, and how the driver came through
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            runs = {k: pool.submit(run, args, top, cache, f"k{k}", k) for k in ks}
            for k in ks:
                rc, out, err = runs[k].result()
                problems = []
                if rc != 0:
                    problems.append(f"exit status {rc}")
                if SANITIZER.search(err):
                    problems.append("a sanitizer report")
                fired = re.search(rf"cly_fault: call {k} (\w+)", err)
                if not fired:
                    problems.append("the fault did not fire")
                if hashes(out) != clean:
                    problems.append("results differ from the clean run")
                if problems:
                    bad.append(k)
                    print(f"k={k}: " + "; ".join(problems))
                    print("  stdout: " + out.strip().replace("\n", "\n  stdout: "))
                    print("  stderr: " + err.strip()[-3000:].replace("\n", "\n  stderr: "))
                    continue
                call = fired.group(1)
                step = re.search(r"step (\S+) failed", out)
                how = "restarted" if "restart" in out else "retried" if step else "absorbed"
                where[(call, step.group(1) if step else "-", how)] += 1
        print("call that failed, public call that reported it, outcome: runs")
        for (call, step, how), c in sorted(where.items()):
            print(f"  {call:30} {step:24} {how:10} {c}")
        if bad:
            print(f"{len(bad)} of {len(ks)} fault runs went wrong: k = {', '.join(map(str, bad))}")
            print(f"(their folders are kept under {top})")
            return 1
        print(f"all {len(ks)} fault runs clean")
        ok = True
        return 0
    finally:
        if ok:
            shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
