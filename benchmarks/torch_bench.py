#!/usr/bin/python3
"""Whole nets in clayer against PyTorch, in one invocation on one machine.

    /usr/bin/python3 benchmarks/torch_bench.py [--clayer PATH] [--runs N] [--nets LIST] [--quick] [--device SEL]

Run it with Debian's /usr/bin/python3 (python3-torch 1.13, python3-torchvision),
not another python3 on PATH. For every case it checks that clayer's built-in
net has torchvision's architecture (parameter count, conv / batch-norm / fc
layer counts: a mismatch is refused, not timed), times it with
`clayer bench NET --json` (host time per batch, median of the timed runs
after warm-up) and then the same net in PyTorch with as many threads as the
OpenCL device has compute units (pocl: one per core), so both use the same
cores. Inference is eval() under torch.no_grad(); a training step is
forward, cross-entropy loss, backward and an SGD step (momentum 0.9), as
`clayer bench --mode train` does. Inputs are random; only time is compared.

--nets takes NAME[:BATCH[:MODE]] items, comma-separated: a NAME alone selects
its default cases (resnet18, resnet50, googlenet: inference at batch 1 and
16; fashion: a training step at batch 64; resnet18 also a training step at
batch 8). The ratio is PyTorch time / clayer time: above 1, clayer is faster.
Exit status 1 when a case fails or is refused.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch
import torch.nn as nn
import torchvision.models as tvm

# name: (clayer's built-in net, the torch model, input C x H x W, classes).
# googlenet: clayer's `googlenet` is the Caffe one (LRN, no batch norm);
# torchvision's is `googlenet-torchvision`.
NETS = {
    "resnet18": ("resnet18", lambda: tvm.resnet18(weights=None), (3, 224, 224), 1000),
    "resnet50": ("resnet50", lambda: tvm.resnet50(weights=None), (3, 224, 224), 1000),
    "googlenet": ("googlenet-torchvision",
                  lambda: tvm.googlenet(weights=None, aux_logits=False, init_weights=False), (3, 224, 224), 1000),
    "fashion": ("fashion", lambda: fashion_net(), (1, 28, 28), 10),
}
DEFAULT_CASES = [("resnet18", 1, "infer"), ("resnet18", 16, "infer"), ("resnet50", 1, "infer"),
                 ("resnet50", 16, "infer"), ("googlenet", 1, "infer"), ("googlenet", 16, "infer"),
                 ("fashion", 64, "train"), ("resnet18", 8, "train")]


def fashion_net():
    """nets/fashion.net; its softmax is in the loss (inference applies it)."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10))


def load():
    """The 1, 5 and 15 minute load averages, "unknown" where there are none."""
    try:
        return "%.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        return "unknown"


def parse_cases(text):
    if not text:
        return DEFAULT_CASES
    cases = []
    for item in text.split(","):
        parts = item.strip().split(":")
        if parts[0] not in NETS or len(parts) > 3:
            sys.exit(f"torch_bench: unknown net '{item}' (known: {', '.join(NETS)}; NAME[:BATCH[:MODE]])")
        if len(parts) == 1:
            cases += [c for c in DEFAULT_CASES if c[0] == parts[0]]
            continue
        mode = parts[2] if len(parts) == 3 else "infer"
        if mode not in ("infer", "train") or not parts[1].isdigit() or int(parts[1]) < 1:
            sys.exit(f"torch_bench: bad case '{item}': BATCH is a positive integer, MODE infer or train")
        cases.append((parts[0], int(parts[1]), mode))
    return cases


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()[-600:]}")
    return p.stdout


def compute_units(clayer, device):
    """The compute units of the device clayer will use (`clayer devices --json`)."""
    d = json.loads(run([clayer, "devices", "--json"]))
    want = device or d["default"]
    for dev in d["devices"]:
        if dev["id"] == want:
            return dev["compute_units"], dev["name"]
    # A selector that is not an id ("gpu", a name): clayer resolves it; fall back to the default's count.
    dev = next(x for x in d["devices"] if x["id"] == d["default"])
    return dev["compute_units"], dev["name"]


def clayer_architecture(clayer, net):
    """Parameter count and layer counts by type from `clayer summary NET`."""
    lines = run([clayer, "summary", net]).splitlines()
    rules = [i for i, line in enumerate(lines) if line.startswith("----")]
    types = {}
    for line in lines[rules[0] + 1:rules[1]]:
        t = line.split()[1]
        types[t] = types.get(t, 0) + 1
    params = next(int(line.split("=")[1].split()[0].replace(",", "")) for line in lines
                  if line.startswith("total:") and "parameters" in line)
    return params, types


def torch_architecture(model):
    kinds = {nn.Conv2d: "conv", nn.BatchNorm2d: "batchnorm", nn.Linear: "fc"}
    types = {}
    for m in model.modules():
        t = kinds.get(type(m))
        if t:
            types[t] = types.get(t, 0) + 1
    return sum(p.numel() for p in model.parameters()), types


def check_architecture(name, clayer_net, clayer, model):
    """A line comparing the two, and whether they match."""
    cp, ct = clayer_architecture(clayer, clayer_net)
    tp, tt = torch_architecture(model)
    layers = " ".join(f"{k} {ct.get(k, 0)}/{tt.get(k, 0)}" for k in ("conv", "batchnorm", "fc"))
    ok = cp == tp and all(ct.get(k, 0) == tt.get(k, 0) for k in ("conv", "batchnorm", "fc"))
    return ok, (f"{name}: clayer {clayer_net} / PyTorch: parameters {cp:,} / {tp:,}, layers {layers}"
                f"{'' if ok else '  MISMATCH'}")


def time_clayer(clayer, net, batch, mode, runs, warmup, device, workdir):
    path = os.path.join(workdir, f"{net}-{batch}-{mode}.json")
    cmd = [clayer, "bench", net, "--batch", str(batch), "--mode", mode, "--runs", str(runs),
           "--warmup", str(warmup), "--json", path]
    if device:
        cmd += ["--device", device]
    run(cmd)
    with open(path) as f:
        return json.load(f)


def time_torch(model, shape, classes, batch, mode, runs, warmup):
    """Median and fastest host ms of one batch: inference, or a training step."""
    x = torch.randn(batch, *shape)
    labels = torch.arange(batch) % classes  # every class in turn, as clayer bench does
    if mode == "train":
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=1e-6, momentum=0.9)
        loss_fn = nn.CrossEntropyLoss()

        def step():
            opt.zero_grad()
            loss_fn(model(x), labels).backward()
            opt.step()
    else:
        model.eval()

        def step():
            with torch.no_grad():
                torch.softmax(model(x), 1)
    times = []
    for r in range(warmup + runs):
        t = time.perf_counter()
        step()
        if r >= warmup:
            times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times), min(times)


def main():
    ap = argparse.ArgumentParser(description="clayer against PyTorch on whole nets (see the module docstring)")
    ap.add_argument("--clayer", default=os.path.join(os.path.dirname(__file__), "..", "build", "clayer"),
                    help="the clayer binary (default: build/clayer)")
    ap.add_argument("--runs", type=int, default=7, help="timed runs per case, after warm-up (default 7)")
    ap.add_argument("--nets", default="", help="NAME[:BATCH[:MODE]],... (default: every default case)")
    ap.add_argument("--device", default="", help="clayer's --device selector")
    ap.add_argument("--quick", action="store_true", help="2 runs after 1 warm-up: a smoke test, not a measurement")
    a = ap.parse_args()
    cases = parse_cases(a.nets)
    runs, warmup = (2, 1) if a.quick else (max(1, a.runs), 2)

    threads, dev_name = compute_units(a.clayer, a.device)
    torch.set_num_threads(threads)
    print(f"clayer: {a.clayer}, device {dev_name}, {threads} compute units")
    print(f"PyTorch {torch.__version__} (oneDNN: {torch.backends.mkldnn.is_available()}), "
          f"torch.set_num_threads({threads}) = the OpenCL device's compute units")
    print(f"median of {runs} runs after {warmup} warm-up, host time per batch, random inputs, FP32")
    print(f"load average {load()} at the start: on a shared machine other work slows the OpenMP peers most; "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(default)')}")

    failed = False
    results = []
    cpu = "unknown"
    checked = {}
    with tempfile.TemporaryDirectory() as workdir:
        for name, batch, mode in cases:
            clayer_net, build, shape, classes = NETS[name]
            torch.manual_seed(0)
            model = build()
            if name not in checked:
                checked[name], line = check_architecture(name, clayer_net, a.clayer, model)
                print(line)
            if not checked[name]:
                print(f"{name}: refused: the architectures differ, a ratio would mean nothing", file=sys.stderr)
                failed = True
                continue
            try:
                c = time_clayer(a.clayer, clayer_net, batch, mode, runs, warmup, a.device, workdir)
            except RuntimeError as e:
                print(f"{name} batch {batch} {mode}: clayer failed: {e}", file=sys.stderr)
                failed = True
                continue
            cpu = c.get("host", {}).get("cpu_model", cpu)
            t, tmin = time_torch(model, shape, classes, batch, mode, runs, warmup)
            cms, cmin = c["totals"]["median_ms"], c["totals"]["min_ms"]
            results.append((name, batch, mode, cms, t, cmin, tmin))
            print(f"  {name} batch {batch} {mode}: clayer {cms:.1f} ms (min {cmin:.1f}), "
                  f"PyTorch {t:.1f} ms (min {tmin:.1f})", flush=True)

    print(f"\nhost CPU: {cpu}; load average {load()} at the end")
    print(f"{'net':<10} {'batch':>5} {'mode':<5} {'clayer ms':>10} {'PyTorch ms':>10} {'clayer img/s':>12} "
          f"{'PyTorch img/s':>13} {'clayer/PyTorch':>14} {'(fastest runs)':>14}")
    for name, batch, mode, cms, tms, cmin, tmin in results:
        print(f"{name:<10} {batch:>5} {mode:<5} {cms:>10.1f} {tms:>10.1f} {batch * 1e3 / cms:>12.1f} "
              f"{batch * 1e3 / tms:>13.1f} {tms / cms:>14.2f} {tmin / cmin:>14.2f}")
    print("clayer/PyTorch: PyTorch's median time / clayer's (above 1: clayer faster, below 1: PyTorch faster);\n"
          "(fastest runs): the same of each side's fastest run, less sensitive to other work on a shared machine")
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
