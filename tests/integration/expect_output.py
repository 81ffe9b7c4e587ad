#!/usr/bin/env python3
"""Run a program and require its exit status 0 and a substring in stdout.

usage: expect_output.py EXPECTED PROGRAM [ARGS...]
"""
import subprocess
import sys

expected, cmd = sys.argv[1], sys.argv[2:]
r = subprocess.run(cmd, capture_output=True, text=True)
sys.stdout.write(r.stdout)
sys.stderr.write(r.stderr)
if r.returncode != 0:
    sys.exit(f"{cmd[0]} exited {r.returncode}")
if expected not in r.stdout:
    sys.exit(f"expected {expected!r} in the output")
