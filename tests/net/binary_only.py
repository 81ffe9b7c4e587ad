#!/usr/bin/env python3
"""Binary-only mode end to end: `clayer compile` makes one bundle for the
fashion, lenet and resnet18 nets at batch 1 (inference) and fashion at
batch 2 (training); test_hashes then runs those nets' forward and training
cases built from source and again with $CLAYER_NO_COMPILER=1,
$CLAYER_BUNDLE and an empty cache directory, and the hashes must be
identical (and the cache stay empty). Then the refusals, each a clear
error: a flipped byte, a truncated file, a bundle rewritten for another
device (header and checksum redone here, from docs/bundle-format.md), a
program the bundle lacks. `clayer compile --list` lists what the bundle
holds, and a bundle rebuilt from an offline manifest of the extracted
binaries gives the same hashes.

usage: binary_only.py CLAYER TEST_HASHES
"""
import hashlib
import os
import struct
import subprocess
import sys
import tempfile

CASES = ["fashion:infer:auto", "lenet:infer:auto", "resnet18:infer:auto", "fashion:train:auto"]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def run(cmd, env_extra, expect_rc=0):
    env = dict(os.environ)
    env.update(env_extra)
    for k in [k for k, v in env.items() if v is None]:
        del env[k]
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
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


def hashes(test_hashes, env, cases=CASES):
    args = [test_hashes, "--record"]
    for c in cases:
        args += ["--case", c]
    p = run(args, env)
    return p.returncode, [l for l in p.stdout.splitlines() if not l.startswith("device ")]


def main():
    clayer, test_hashes = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="clayer-binary-only-")
    src_cache = os.path.join(tmp, "cache")
    empty = os.path.join(tmp, "empty")
    os.mkdir(empty)
    infer, both = os.path.join(tmp, "infer.clb"), os.path.join(tmp, "all.clb")
    base = {"CLAYER_CACHE_DIR": src_cache, "CLAYER_BUNDLE": None, "CLAYER_NO_COMPILER": None, "CLAYER_CACHE": None}

    p = run([clayer, "compile", "fashion", "lenet", "resnet18", "--batch", "1", "-o", infer], base)
    check(p.returncode == 0 and os.path.getsize(infer) > 0, "clayer compile fashion lenet resnet18 --batch 1")
    p = run([clayer, "compile", "fashion", "--batch", "2", "--mode", "train", "--add", infer, "-o", both], base)
    check(p.returncode == 0, "clayer compile fashion --mode train --add (merged)")
    with open(both, "rb") as f:
        data = f.read()
    version, head, entries = parse_bundle(data)
    with open(infer, "rb") as f:
        infer_entries = parse_bundle(f.read())[2]
    check(version == 1 and len(entries) > len(infer_entries),
          f"bundle: format 1, {len(entries)} programs, more than the inference bundle's {len(infer_entries)}")
    check(set((e[0], e[1]) for e in infer_entries) <= set((e[0], e[1]) for e in entries), "--add kept every entry")

    # Source-built (no cache at all) against binary-only from the bundle.
    rc_src, src = hashes(test_hashes, dict(base, CLAYER_CACHE="off"))
    binary_env = dict(base, CLAYER_NO_COMPILER="1", CLAYER_BUNDLE=both, CLAYER_CACHE_DIR=empty)
    rc_bin, binary = hashes(test_hashes, binary_env)
    check(rc_src == 0 and len(src) == len(CASES), f"source-built cases: {src}")
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
    # alexnet's LRN is in none of the compiled nets.
    refused(both, ["device has no compiler", "is in no kernel bundle (" + both, "binary cache (" + empty,
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
    rc_man, man = hashes(test_hashes, dict(binary_env, CLAYER_BUNDLE=from_manifest))
    check(rc_man == 0 and man == src, "binary-only from the manifest's bundle, bit-identical")
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
