#!/usr/bin/env python3
"""Binary-only mode end to end, the GEMM paths included: `clayer compile`
makes one bundle for the hash cases' nets, modes (inference at batch 1,
training at batch 2) and convolution algorithms ($CLAYER_CONV_ALGO), its
GEMMs clayer's own; test_hashes then runs those cases built from source
with the builtin GEMM ($CLAYER_GEMM=builtin, no binary cache) and again
with $CLAYER_NO_COMPILER=1, $CLAYER_BUNDLE and an empty cache directory
($CLAYER_GEMM=clblast there: binary-only must override it), and the hashes
must be identical (and the cache stay empty). Then the refusals, each a
clear error: a flipped byte, a truncated file, a bundle rewritten for
another device (header and checksum redone here, from
docs/bundle-format.md), a program the bundle lacks. `clayer compile --list`
lists what the bundle holds, and a bundle rebuilt from an offline manifest
of the extracted binaries gives the same hashes.

The default case list (meson suite 'unit') has every algorithm and every
op kind of the built-in nets, forward and training; --all runs every case
of `test_hashes --all` (suite 'slow').

usage: binary_only.py CLAYER TEST_HASHES [--all]
"""
import hashlib
import os
import struct
import subprocess
import sys
import tempfile

ALGOS = ["auto", "direct", "im2col", "gemm1x1"]
NETS = ["lenet", "fashion", "alexnet", "alexnet-caffe", "alexnet-tv", "zfnet", "vgg16", "googlenet", "googlenet-tv",
        "resnet18", "resnet34", "resnet50"]
# Inference: conv, pool, fc, softmax (lenet), dropout (fashion), groups and
# LRN (alexnet-caffe), concat, batch norm, ReLU layers and global average
# pooling (googlenet-tv), add and strided and 1x1 convs (resnet18), each
# under every algorithm. Training: lenet and fashion under every algorithm;
# the GEMM backward of the bigger layers through im2col (and gemm1x1 on
# resnet18's 1x1 convs).
UNIT = ([f"{n}:infer:{a}" for n in ["lenet", "fashion", "alexnet-caffe", "googlenet-tv", "resnet18"] for a in ALGOS]
        + [f"{n}:train:{a}" for n in ["lenet", "fashion"] for a in ALGOS]
        + ["alexnet-caffe:train:im2col", "googlenet-tv:train:im2col", "resnet18:train:im2col",
           "resnet18:train:gemm1x1"])
ALL = [f"{n}:{m}:{a}" for m in ["infer", "train"] for n in NETS for a in ALGOS]
BATCH = {"infer": "1", "train": "2"}
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def run(cmd, env_extra, expect_rc=0, timeout=600):
    env = dict(os.environ)
    env.update(env_extra)
    for k in [k for k, v in env.items() if v is None]:
        del env[k]
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    if expect_rc is not None and p.returncode != expect_rc:
        print(f"$ {' '.join(cmd)}\nexit {p.returncode}\n{p.stdout}\n{p.stderr}", file=sys.stderr)
    return p


def parse_bundle(data):
    """docs/bundle-format.md, read independently of the library."""
    assert data[:8] == b"CLYBNDL1"
    assert hashlib.sha256(data[:-32]).digest() == data[-32:]
    version, count = struct.unpack_from("<II", data, 8)
    at = 16
    head = []
    for _ in range(5):
        (n,) = struct.unpack_from("<I", data, at)
        head.append(data[at + 4 : at + 4 + n].decode())
        at += 4 + n
    entries = []
    for _ in range(count):
        fields = []
        for _ in range(2):
            (n,) = struct.unpack_from("<I", data, at)
            fields.append(data[at + 4 : at + 4 + n].decode())
            at += 4 + n
        sha = data[at : at + 32]
        (size,) = struct.unpack_from("<Q", data, at + 32)
        at += 40
        entries.append((fields[0], fields[1], sha, data[at : at + size]))
        at += size
    assert at == len(data) - 32, "bytes left after the entries"
    return version, head, entries


def encode_bundle(head, entries):
    out = bytearray(b"CLYBNDL1" + struct.pack("<II", 1, len(entries)))
    for s in head:
        b = s.encode()
        out += struct.pack("<I", len(b)) + b
    for name, options, sha, binary in entries:
        for s in (name, options):
            b = s.encode()
            out += struct.pack("<I", len(b)) + b
        out += sha + struct.pack("<Q", len(binary)) + binary
    return bytes(out + hashlib.sha256(out).digest())


def hashes(test_hashes, env, cases):
    args = [test_hashes, "--record"]
    if cases == ALL:
        args.append("--all")
    else:
        for c in cases:
            args += ["--case", c]
    p = run(args, env, timeout=7200)
    return p.returncode, [l for l in p.stdout.splitlines() if not l.startswith("device ")]


def main():
    clayer, test_hashes = sys.argv[1], sys.argv[2]
    cases = ALL if sys.argv[3:] == ["--all"] else UNIT
    tmp = tempfile.mkdtemp(prefix="clayer-binary-only-")
    src_cache = os.path.join(tmp, "cache")
    empty = os.path.join(tmp, "empty")
    os.mkdir(empty)
    infer, both = os.path.join(tmp, "infer.clb"), os.path.join(tmp, "all.clb")
    base = {"CLAYER_CACHE_DIR": src_cache, "CLAYER_BUNDLE": None, "CLAYER_NO_COMPILER": None, "CLAYER_CACHE": None,
            "CLAYER_GEMM": None, "CLAYER_CONV_ALGO": None}

    p = run([clayer, "compile", "fashion", "lenet", "resnet18", "--batch", "1", "-o", infer], base)
    check(p.returncode == 0 and os.path.getsize(infer) > 0, "clayer compile fashion lenet resnet18 --batch 1")
    # One compile per mode and algorithm, each merged (--add) into the last.
    have = infer
    for mode in ["infer", "train"]:
        for algo in ALGOS:
            nets = [c.split(":")[0] for c in cases if c.endswith(f":{mode}:{algo}")]
            if not nets:
                continue
            out = os.path.join(tmp, f"{mode}-{algo}.clb")
            env = dict(base, CLAYER_CONV_ALGO=None if algo == "auto" else algo)
            p = run([clayer, "compile"] + nets + ["--batch", BATCH[mode], "--mode", mode, "--add", have, "-o", out],
                    env, timeout=3600)
            check(p.returncode == 0, f"CLAYER_CONV_ALGO={algo} clayer compile {' '.join(nets)} --mode {mode} --add")
            have = out
    os.rename(have, both)
    with open(both, "rb") as f:
        data = f.read()
    version, head, entries = parse_bundle(data)
    with open(infer, "rb") as f:
        infer_entries = parse_bundle(f.read())[2]
    check(version == 1 and len(entries) > len(infer_entries),
          f"bundle: format 1, {len(entries)} programs, more than the first bundle's {len(infer_entries)}")
    check(set((e[0], e[1]) for e in infer_entries) <= set((e[0], e[1]) for e in entries), "--add kept every entry")
    check(any(e[0] == "gemm" for e in entries), "the bundle holds the builtin GEMM's programs")

    # Source-built with the builtin GEMM (no cache at all) against
    # binary-only from the bundle, where CLBlast may not run.
    rc_src, src = hashes(test_hashes, dict(base, CLAYER_CACHE="off", CLAYER_GEMM="builtin"), cases)
    binary_env = dict(base, CLAYER_NO_COMPILER="1", CLAYER_BUNDLE=both, CLAYER_CACHE_DIR=empty, CLAYER_GEMM="clblast")
    rc_bin, binary = hashes(test_hashes, binary_env, cases)
    check(rc_src == 0 and len(src) == len(cases), f"{len(src)} source-built cases of {len(cases)}: {src}")
    check(rc_bin == 0 and binary == src, f"binary-only cases bit-identical to source-built: {binary}")
    check(os.listdir(empty) == [], "binary-only run wrote nothing to its cache directory")

    # --list names exactly programs the bundle holds.
    p = run([clayer, "compile", "--list", "lenet"], base)
    listed = [tuple(l.split("\t")) for l in p.stdout.splitlines()]
    have = set((e[0], e[1]) for e in entries)
    check(p.returncode == 0 and listed and all(len(l) == 2 and l in have for l in listed),
          f"compile --list lenet: {len(listed)} programs, each in the bundle")

    def refused(path, fragments, what, net="lenet"):
        p = run([clayer, "run", net, "--batch", "1"], dict(binary_env, CLAYER_BUNDLE=path), expect_rc=None)
        ok = p.returncode == 1 and all(f in p.stderr for f in fragments)
        check(ok, f"{what}: refused ({p.stderr.strip().splitlines()[-1] if p.stderr.strip() else 'no message'})")

    bad = os.path.join(tmp, "bad.clb")
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x01
    open(bad, "wb").write(flipped)
    refused(bad, ["not a valid kernel bundle", "SHA-256"], "flipped byte")
    open(bad, "wb").write(data[: len(data) - 1000])
    refused(bad, ["not a valid kernel bundle"], "truncated bundle")
    open(bad, "wb").write(encode_bundle(head[:3] + ["FPGA board 9000"] + head[4:], entries))
    refused(bad, ["made for device name 'FPGA board 9000'", "clayer compile"], "bundle of another device")
    open(bad, "wb").write(encode_bundle(head[:4] + ["driver 0.0"], entries))
    refused(bad, ["made for driver version 'driver 0.0'"], "bundle of another driver version")
    # alexnet's LRN is in none of the first bundle's nets.
    refused(infer, ["device has no compiler", "is in no kernel bundle (" + infer, "binary cache (" + empty,
                   "with options '-cl-std=CL1.2"], "program missing from the bundle", net="alexnet")
    p = run([clayer, "run", "lenet", "--batch", "1"], binary_env)
    check(p.returncode == 0, "clayer run lenet binary-only")

    # An offline manifest of the extracted binaries makes an equivalent bundle.
    bins = os.path.join(tmp, "bins")
    os.mkdir(bins)
    manifest = os.path.join(bins, "manifest.tsv")
    with open(manifest, "w") as m:
        m.write("# program\toptions\tbinary\n")
        for i, (name, options, _, binary) in enumerate(entries):
            open(os.path.join(bins, f"{i}.bin"), "wb").write(binary)
            m.write(f"{name}\t{options}\t{i}.bin\n")
    from_manifest = os.path.join(tmp, "manifest.clb")
    p = run([clayer, "compile", "--manifest", manifest, "-o", from_manifest], base)
    check(p.returncode == 0, "clayer compile --manifest")
    rc_man, man = hashes(test_hashes, dict(binary_env, CLAYER_BUNDLE=from_manifest), UNIT[:4])
    check(rc_man == 0 and man == [l for l in src if l.startswith("lenet infer ")], "binary-only from the manifest's bundle, bit-identical")
    with open(manifest, "a") as m:
        m.write("conv_direct only two fields\n")
    p = run([clayer, "compile", "--manifest", manifest, "-o", from_manifest], base, expect_rc=2)
    check(p.returncode == 2 and "manifest.tsv:" in p.stderr, "a malformed manifest line is a usage error")

    subprocess.run(["rm", "-rf", tmp])
    if failures:
        print(f"{len(failures)} failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
