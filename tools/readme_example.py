#!/usr/bin/env python3
"""Extract the C block that follows `<!-- example: NAME -->` in README.md.

usage: readme_example.py README.md NAME OUT.c
The test suite compiles and runs the result, so the README's example cannot
silently rot.
"""
import re
import sys

readme, name, out = sys.argv[1:4]
text = open(readme, encoding="utf-8").read()
m = re.search(r"<!-- example: " + re.escape(name) + r" -->\s*```c\n(.*?)```", text, re.S)
if not m:
    sys.exit(f"readme_example: no example '{name}' in {readme}")
with open(out, "w", encoding="utf-8") as f:
    f.write(m.group(1))
