#!/usr/bin/env python3
"""The clayer command line's conventions, checked by running the binary:
--help for every command, --opt=value, unknown and incomplete options named,
"did you mean", strict numbers, the training progress bar under a
pseudo-terminal of 80 columns and as plain lines into a pipe, eval's table
and JSON, bench's early check of its output path, compare's warning and
algorithm column, devices --json with no OpenCL platform.

usage: test_cli_options.py PATH/TO/clayer
"""
import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import tempfile
import termios
import time

COMMANDS = ["devices", "demo", "summary", "run", "train", "eval", "bench", "compare", "classify", "import",
            "convert", "export", "tune"]
clayer = sys.argv[1]
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print(f"FAIL: {what}", file=sys.stderr)


def run(*args, env=None):
    p = subprocess.run([clayer, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env={**os.environ, **(env or {})}, timeout=600)
    # In a sanitizer build a report can come with an expected exit code.
    check("Sanitizer" not in p.stderr and "runtime error:" not in p.stderr, f"clayer {args}: {p.stderr[-2000:]}")
    return p.returncode, p.stdout, p.stderr


def run_pty(args, columns, rows=24):
    """Run clayer with stderr on a pseudo-terminal of `columns` (stdout, the
    epoch summaries, elsewhere); returns the exit code and what the terminal
    received."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {**os.environ, "COLUMNS": "300"}  # the ioctl, not $COLUMNS, must win
    p = subprocess.Popen([clayer, *args], stdin=slave, stdout=subprocess.DEVNULL, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 1)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        elif p.poll() is not None:
            break
    rc = p.wait(timeout=60)
    os.close(master)
    text = out.decode("utf-8", "replace")
    check("Sanitizer" not in text and "runtime error:" not in text, f"clayer {args} (pty): {text[-2000:]}")
    return rc, text


def rendered_widths(text):
    """The width of every stretch the terminal draws between carriage
    returns and newlines (escape sequences take no columns)."""
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    return [len(seg) for line in text.split("\n") for seg in line.replace("\r\n", "\n").split("\r")]


work = tempfile.mkdtemp(prefix="clayer-cli-options-")

# --help and -h: every command's usage on stdout, exit 0; `clayer help CMD` too.
for cmd in COMMANDS:
    for flag in ("--help", "-h"):
        rc, out, err = run(cmd, flag)
        check(rc == 0 and out.startswith(f"usage: clayer {cmd}") and err == "",
              f"clayer {cmd} {flag}: rc {rc}, stdout {out[:60]!r}, stderr {err[:200]!r}")
rc, out, _ = run("help", "bench")
check(rc == 0 and out.startswith("usage: clayer bench"), f"clayer help bench: rc {rc}, {out[:60]!r}")
rc, out, _ = run("--help")
check(rc == 0 and "help COMMAND" in out, f"clayer --help: rc {rc}")

# An unknown flag is named, with a hint to --help, exit 2, for every command.
for cmd in COMMANDS:
    rc, out, err = run(cmd, "--xyz")
    check(rc == 2 and f"clayer {cmd}: unknown option '--xyz'" in err and f"clayer {cmd} --help" in err,
          f"clayer {cmd} --xyz: rc {rc}, {err!r}")
rc, _, err = run("summary", "lenet", "--bach=2")
check(rc == 2 and "unknown option '--bach'" in err and "did you mean '--batch'" in err,
      f"summary --bach=2: rc {rc}, {err!r}")
rc, _, err = run("devices", "--json=yes")
check(rc == 2 and "'--json' takes no value" in err, f"devices --json=yes: rc {rc}, {err!r}")
rc, _, err = run("run", "lenet", "--batch")
check(rc == 2 and "option '--batch' needs a value" in err, f"run --batch (no value): rc {rc}, {err!r}")
rc, _, err = run("import", "x.onnx", "-o")
check(rc == 2 and "option '-o' needs a value" in err, f"import -o (no value): rc {rc}, {err!r}")
rc, _, err = run("summary", "lenet", "extra")
check(rc == 2 and "unexpected argument 'extra'" in err, f"summary lenet extra: rc {rc}, {err!r}")

# "did you mean": commands and built-in nets.
rc, _, err = run("sumary", "lenet")
check(rc == 2 and "unknown command 'sumary'" in err and "did you mean 'summary'" in err, f"sumary: {err!r}")
rc, _, err = run("benhc")
check(rc == 2 and "did you mean 'bench'" in err, f"benhc: {err!r}")
rc, _, err = run("frobnicate")
check(rc == 2 and "did you mean" not in err, f"frobnicate suggests something: {err!r}")
rc, _, err = run("summary", "resnt50")
check(rc == 1 and "did you mean 'resnet50'" in err, f"summary resnt50: rc {rc}, {err!r}")

# --opt=value and --opt value alike.
rc1, out1, _ = run("summary", "lenet", "--batch=3")
rc2, out2, _ = run("summary", "--batch", "3", "lenet")
check(rc1 == 0 and out1 == out2 and "batch 3" in out1, f"summary --batch=3: rc {rc1}, {out1[:80]!r}")

# Strict numbers: a fraction, junk, NaN, infinities, overflow and ranges
# are refused, naming the option and the value.
for args, flag, value in [(["train", "--epochs", "1.9"], "--epochs", "1.9"),
                          (["train", "--epochs=0"], "--epochs", "0"),
                          (["train", "--batch", "64x"], "--batch", "64x"),
                          (["train", "--lr", "nan"], "--lr", "nan"),
                          (["train", "--lr", "inf"], "--lr", "inf"),
                          (["train", "--lr", "0"], "--lr", "0"),
                          (["train", "--weight-decay", "-1"], "--weight-decay", "-1"),
                          (["train", "--seed", "99999999999999999999"], "--seed", "99999999999999999999"),
                          (["train", "--limit", " 5"], "--limit", " 5"),
                          (["run", "lenet", "--runs", "2.5"], "--runs", "2.5"),
                          (["bench", "lenet", "--warmup", ""], "--warmup", ""),
                          (["convert", "lenet", "x.net", "--input-size", "12x"], "--input-size", "12x")]:
    rc, out, err = run(*args)
    check(rc == 2 and flag in err and f"'{value}'" in err and out == "", f"{args}: rc {rc}, {err!r}")
rc, _, err = run("train", "--momentum", "0.5")
check(rc == 2 and "--momentum" in err and "Adam" in err, f"train --momentum with Adam: rc {rc}, {err!r}")
rc, _, err = run("train", "--optimizer", "rmsprop")
check(rc == 2 and "'rmsprop'" in err, f"train --optimizer rmsprop: rc {rc}, {err!r}")

# devices --json without any OpenCL platform: valid JSON all the same.
empty = os.path.join(work, "no-icd")
os.mkdir(empty)
rc, out, err = run("devices", "--json", env={"OCL_ICD_VENDORS": empty, "OCL_ICD_FILENAMES": ""})
try:
    d = json.loads(out)
    check(d["devices"] == [] and d["default"] is None and "platform" in d["error"], f"devices --json: {d}")
except (ValueError, KeyError) as e:
    check(False, f"devices --json with no platform: not the JSON wanted ({e}): {out!r}")
check(rc == 1 and "no OpenCL platform" in err, f"devices --json with no platform: rc {rc}, {err!r}")

# bench --json to a path it cannot write: refused before anything runs.
for bad in ("/no/such/dir/x.json", work):
    t = time.monotonic()
    rc, out, err = run("bench", "lenet", "--runs", "200", "--json", bad)
    check(rc == 1 and f"cannot write '{bad}'" in err and out == "" and "warm-up" not in err,
          f"bench --json {bad}: rc {rc}, {out[:80]!r}, {err!r}")
# A failed bench leaves no empty file behind; an existing file keeps its
# contents when the run fails.
missing_net = os.path.join(work, "missing.net")
rc, _, _ = run("bench", missing_net, "--json", os.path.join(work, "fresh.json"))
check(rc == 1 and not os.path.exists(os.path.join(work, "fresh.json")), "a failed bench left its JSON file")
keep = os.path.join(work, "keep.json")
open(keep, "w").write("old\n")
rc, _, _ = run("bench", missing_net, "--json", keep)
check(rc == 1 and open(keep).read() == "old\n", "a failed bench emptied an existing JSON file")

# compare: the algorithm column, and a warning for two different nets.
a, b = os.path.join(work, "a.json"), os.path.join(work, "b.json")
run("bench", "lenet", "--runs=1", "--warmup=1", f"--json={a}")
run("bench", "fashion", "--runs=1", "--warmup=1", f"--json={b}")
rc, out, err = run("compare", a, a)
check(rc == 0 and "warning" not in err and re.search(r"^c1 +direct ", out, re.M), f"compare a a: {out!r} {err!r}")
rc, out, err = run("compare", a, b, "--svg", os.path.join(work, "c.svg"))
check(rc == 0 and "warning" in err and "'fashion'" in err and "'lenet'" in err, f"compare lenet fashion: {err!r}")
svg = open(os.path.join(work, "c.svg")).read()
check( svg.count("<line") > 10 and "time / A&apos;s time" in svg, "compare --svg: no ratio panel or axis")

# Training: the banner says only what applies.
rc, out, err = run("train", "--epochs", "1", "--limit", "128", "--batch", "64", "--test-limit", "100")
check(rc == 0 and "x0.1" not in out and "momentum" not in out and "Adam" in out, f"train banner: {out!r}")
# Into a pipe: plain lines, no carriage returns; --log-every adds some.
check("\r" not in err and re.search(r"^epoch 1/1: step 2/2, \d+:\d\d elapsed, loss [\d.]+, acc [\d.]+%", err, re.M),
      f"train into a pipe: {err!r}")
rc, out, err = run("train", "--epochs=2", "--limit=256", "--batch=64", "--log-every=2", "--optimizer=sgd",
                   "--momentum=0.9", "--test-limit=500", "--save", os.path.join(work, "m.clym"))
check(rc == 0 and "x0.1 in the last epoch" in out and "Nesterov momentum 0.9" in out, f"train sgd banner: {out!r}")
steps = re.findall(r"^epoch (\d)/2: step (\d)/4", err, re.M)
check(steps == [("1", "2"), ("1", "4"), ("2", "2"), ("2", "4")], f"--log-every 2: {steps}, {err!r}")

# Under a pseudo-terminal: a bar redrawn in place, never as wide as the
# terminal (the last column wraps), sized to it.
for columns in (80, 120, 40):
    rc, text = run_pty(["train", "--epochs", "1", "--limit", "640", "--batch", "64", "--test-limit", "100"], columns)
    widths = rendered_widths(text)
    bars = [s for s in re.split(r"[\r\n]", text) if s.startswith("epoch 1/1")]
    check(rc == 0 and bars and max(widths) < columns, f"pty {columns}: rc {rc}, widest {max(widths)}: {text!r}")
    check("\r" in text and any("10/10" in s for s in bars), f"pty {columns}: no redrawn bar reaching 10/10: {text!r}")
    check(all(len(s.rstrip("\n")) == columns - 1 for s in bars), f"pty {columns}: bar not sized to the width: {bars}")
    check(any("acc" in s for s in bars) or columns < 60, f"pty {columns}: no accuracy: {bars}")
    if columns >= 80:
        check(any("[" in s and "acc" in s and re.search(r"\d+:\d\d<\d+:\d\d", s) for s in bars),
              f"pty {columns}: the bar lacks its bar, accuracy or times: {bars}")

# eval: columns from the names ("Pullover", "T-shirt/top" fit), precision and
# recall, JSON; class numbers, not Fashion-MNIST names, for other data.
model = os.path.join(work, "m.clym")
rc, out, err = run("eval", model, "--limit", "1000")
lines = out.splitlines()
check(rc == 0 and any("Pullover" in l for l in lines) and "precision" in out and "recall" in out, f"eval: {out!r}")
matrix = [l for l in lines if re.match(r"^\d ", l)][:10]
check(len(matrix) == 10 and len({len(l) for l in matrix}) == 1, f"eval: confusion rows of unequal width: {matrix}")
header = next((l for l in lines if l.strip().startswith("0 ") and "1" in l), "")
check(header and all(len(header) == len(l) for l in matrix), f"eval: header and rows misaligned: {header!r}")
rc, out, err = run("eval", model, "--json", "--limit=1000")
try:
    d = json.loads(out)
    check(len(d["classes"]) == 10 and d["classes"][2]["name"] == "Pullover" and len(d["confusion"]) == 10 and
          sum(map(sum, d["confusion"])) == d["images"] == 1000 and
          0 <= d["classes"][0]["precision"] <= 1 and 0 <= d["accuracy"] <= 1, f"eval --json: {d}")
except (ValueError, KeyError) as e:
    check(False, f"eval --json: {e}: {out[:200]!r}")
data = os.path.join(work, "data")
os.mkdir(data)
for f in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
    os.symlink(os.path.join("/usr/share/datasets/fashion-mnist", f), os.path.join(data, f))
rc, out, err = run("eval", model, "--data", data, "--json", "--limit", "200")
check(rc == 0 and all(c["name"] is None for c in json.loads(out or "{}").get("classes", [0])),
      f"eval --data: names for a dataset not known to be Fashion-MNIST: {out[:200]!r} {err!r}")
names = os.path.join(work, "names.txt")
open(names, "w").write("".join(f"class number {i}\n" for i in range(10)))
rc, out, err = run("eval", model, "--data", data, "--class-names", names, "--limit", "200")
check(rc == 0 and "class number 9" in out, f"eval --class-names: rc {rc}, {err!r}")

if failures:
    print(f"{len(failures)} failures", file=sys.stderr)
    sys.exit(1)
print("cli options: all checks passed")
