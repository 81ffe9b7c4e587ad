#!/usr/bin/env python3
"""Write the seed corpus of fuzz/fuzz_bundle (docs/bundle-format.md) into
DIR: small valid bundles of 0, 1 and 3 entries (real bundles hold device
binaries of megabytes; the parser's paths are the same)."""
import hashlib
import os
import struct
import sys


def bundle(head, entries):
    out = bytearray(b"CLYBNDL1" + struct.pack("<II", 1, len(entries)))
    for s in head:
        out += struct.pack("<I", len(s)) + s
    for name, options, binary in entries:
        out += struct.pack("<I", len(name)) + name + struct.pack("<I", len(options)) + options
        out += hashlib.sha256(name).digest() + struct.pack("<Q", len(binary)) + binary
    return bytes(out + hashlib.sha256(out).digest())


head = [b"0.2.0", b"Portable Computing Language", b"OpenCL 3.0 PoCL", b"pthread-cpu", b"3.1"]
seeds = {
    "empty.clb": bundle(head, []),
    "one.clb": bundle(head, [(b"pool", b"-cl-std=CL1.2 ", b"\x7fELF\x02\x01")]),
    "three.clb": bundle([b"", b"p", b"", b"d", b""], [
        (b"conv_direct", b"-cl-std=CL1.2 -DVW=16 -DKT=6", bytes(range(40))),
        (b"conv_direct", b"-cl-std=CL1.2 -DVW=8", b"\x00" * 9),
        (b"softmax", b"", b"x")]),
}
os.makedirs(sys.argv[1], exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(sys.argv[1], name), "wb") as f:
        f.write(data)
