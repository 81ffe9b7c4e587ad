#!/usr/bin/env python3
"""Write the seed corpus of fuzz/fuzz_idx.c into DIR (default
fuzz/corpus/idx): small valid IDX image and label files, raw and gzip (with
and without the optional header fields), each seed a 2-byte little-endian
length of the images file, the images file, then the labels file. The
seeds are committed; run this again only to change them."""
import gzip
import os
import struct
import sys
import zlib


def idx(dims, data):
    return struct.pack(">I", 0x0800 | len(dims)) + b"".join(struct.pack(">I", d) for d in dims) + bytes(data)


def gz_plain(b):
    return gzip.compress(b, compresslevel=9, mtime=0)


def gz_fields(b):
    """A member with an extra field, a name, a comment and a header CRC."""
    head = bytearray(b"\x1f\x8b\x08" + bytes([0x02 | 0x04 | 0x08 | 0x10]) + b"\0\0\0\0\0\3")
    head += struct.pack("<H", 5) + b"Ap\1\0x" + b"images\0" + b"seed\0"
    head += struct.pack("<H", zlib.crc32(head) & 0xFFFF)
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = z.compress(b) + z.flush()
    return bytes(head) + body + struct.pack("<II", zlib.crc32(b), len(b) & 0xFFFFFFFF)


def seed(images, labels):
    return struct.pack("<H", len(images)) + images + labels


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "idx")
    os.makedirs(out, exist_ok=True)
    n, h, w = 3, 4, 5
    pixels = [(i * 37 + 11) % 256 for i in range(n * h * w)]
    im, lb = idx([n, h, w], pixels), idx([n], [0, 2, 1])
    one_im, one_lb = idx([1, 1, 1], [255]), idx([1], [9])
    seeds = {
        "raw.idx": seed(im, lb),
        "gzip.idx": seed(gz_plain(im), gz_plain(lb)),
        "gzip-fields.idx": seed(gz_fields(im), lb),
        "mixed.idx": seed(im, gz_plain(lb)),
        "one-pixel.idx": seed(one_im, one_lb),
        "one-pixel-gzip.idx": seed(gz_plain(one_im), gz_fields(one_lb)),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
