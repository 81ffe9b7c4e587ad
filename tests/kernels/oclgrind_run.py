#!/usr/bin/env python3
"""Run a test binary under oclgrind and fail on any error oclgrind reports.

usage: oclgrind_run.py OCLGRIND TEST [ARGS...]

oclgrind exits with the program's status even after it has reported an
out-of-bounds access, a data race or an uninitialised value, so its output is
scanned as well. Its --log file is truncated by every new OpenCL context, so
stderr is captured instead. check runs in one process (CK_FORK=no): no output
is lost with a forked child. Kernels are built with -cl-opt-disable: the
optimiser emits LLVM `freeze` instructions, which oclgrind 21.10's
uninitialised-value checker cannot interpret (a fatal error). Exit 77 (skip)
passes through.
"""
import os
import re
import subprocess
import sys

# Every oclgrind diagnostic starts with one of these lines; kernel errors go
# on with "\tKernel: NAME".
ERROR = re.compile(r"^(Invalid (read|write)|Uninitiali[sz]ed |.*data race|Oclgrind - |\tKernel: "
                   r"|Work-group divergence)")


def main():
    oclgrind, test, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    # clayer's binary cache is off: a binary built earlier (or with other
    # oclgrind build options, which the cache key cannot see) must not stand
    # in for a fresh build.
    env = dict(os.environ, CK_FORK="no", CLAYER_CACHE="off")
    cmd = [oclgrind, "--check-api", "--data-races", "--uninitialized", "--build-options", "-cl-opt-disable",
           test] + args
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace")
    sys.stdout.write(proc.stdout)
    if proc.returncode == 77:
        return 77
    errors = [line for line in proc.stdout.splitlines() if ERROR.match(line)]
    if errors:
        print(f"oclgrind_run: oclgrind reported {len(errors)} problem line(s), first: {errors[0]!r}")
        return 1
    if proc.returncode != 0:
        print(f"oclgrind_run: the test exited with status {proc.returncode}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
