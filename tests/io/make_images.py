#!/usr/bin/python3
"""Test images for test_image, with what PIL and torchvision make of them.

usage: make_images.py OUTDIR

Writes, for each case NAME, NAME.png or NAME.jpg (made with PIL, or by hand
where PIL cannot write the format: 16-bit RGB and RGBA PNGs) and the
expected results, all raw:
  NAME.rgb      uint8 H x W x 3: Image.open(f).convert("RGB")
  NAME.resized  uint8 RH x RW x 3: that, .resize((RW, RH), Image.BILINEAR)
  NAME.f32      float32 3 x CH x CW: torchvision's Resize, CenterCrop,
                ToTensor, Normalize, replicated here (torchvision is not
                installed) in float32 as torch computes them
and a line in manifest.txt:
  NAME FILE W H RW RH RESIZE CH CW MEAN0 MEAN1 MEAN2 STD0 STD1 STD2
and resizes alone, NAME.resized listed in resize.txt as NAME FILE RW RH;
Then the files that must fail: bad-*.{png,jpg,...}, listed in bad.txt as
  FILE STATUS  (the cly_status name the loader must return)
Nothing is downloaded; the content is seeded noise and gradients.
"""
import struct
import sys
import zlib

import numpy as np
from PIL import Image

out = sys.argv[1]
rng = np.random.RandomState(11)
IMAGENET = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])


def content(w, h, bands, depth=8):
    """Smooth gradients plus noise, so that the resize filter matters."""
    top = (1 << depth) - 1
    y, x = np.mgrid[0:h, 0:w]
    planes = []
    for b in range(bands):
        g = (np.sin(x / (7.0 + 3 * b)) + np.cos(y / (5.0 + 2 * b)) + 2) / 4
        v = g * 0.8 * top + rng.uniform(0, 0.2 * top, (h, w))
        planes.append(np.clip(v, 0, top))
    a = np.stack(planes, -1).round()
    return a.astype(np.uint16 if depth == 16 else np.uint8)


def png16(path, a, colour_type):
    """A 16-bit PNG written by hand: PIL writes no 16-bit RGB or RGBA."""
    h, w = a.shape[:2]
    raw = b"".join(b"\0" + a[r].astype(">u2").tobytes() for r in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))

    ihdr = struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def torchvision_size(w, h, s):
    """torchvision.transforms.functional._compute_resized_output_size."""
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = s, int(s * long / short)
    return (new_short, new_long) if w <= h else (new_long, new_short)


def preprocess(rgb, s, ch, cw, mean, std):
    """Resize(s), CenterCrop((ch, cw)), ToTensor(), Normalize(mean, std)."""
    rw, rh = torchvision_size(rgb.width, rgb.height, s)
    r = rgb.resize((rw, rh), Image.BILINEAR)
    img = r
    if cw > rw or ch > rh:  # torchvision's center_crop pads first
        l, t = (cw - rw) // 2 if cw > rw else 0, (ch - rh) // 2 if ch > rh else 0
        pw, ph = max(cw, rw), max(ch, rh)
        img = Image.new("RGB", (pw, ph), 0)
        img.paste(r, (l, t))
    top = int(round((img.height - ch) / 2.0))
    left = int(round((img.width - cw) / 2.0))
    c = np.asarray(img.crop((left, top, left + cw, top + ch)))
    x = c.transpose(2, 0, 1).astype(np.float32) / np.float32(255)
    m = np.asarray(mean, np.float32)[:, None, None]
    d = np.asarray(std, np.float32)[:, None, None]
    return r, ((x - m) / d).astype(np.float32)


manifest = open(f"{out}/manifest.txt", "w")


def case(name, file, expect_rgb=None, s=256, ch=224, cw=224, mean=IMAGENET[0], std=IMAGENET[1]):
    rgb = Image.open(f"{out}/{file}").convert("RGB")
    if expect_rgb is not None:  # where clayer documents a difference from PIL
        rgb = Image.fromarray(expect_rgb, "RGB")
    np.asarray(rgb).tofile(f"{out}/{name}.rgb")
    r, t = preprocess(rgb, s, ch, cw, mean, std)
    np.asarray(r).tofile(f"{out}/{name}.resized")
    t.tofile(f"{out}/{name}.f32")
    fields = [name, file, rgb.width, rgb.height, r.width, r.height, s, ch, cw] + list(mean) + list(std)
    manifest.write(" ".join(str(v) for v in fields) + "\n")


# Odd sizes, landscape and portrait; 301 -> 355 wide makes the crop offset
# (355 - 224) / 2 = 65.5, which Python rounds to even (66).
Image.fromarray(content(301, 217, 3)).save(f"{out}/rgb.png")
case("rgb", "rgb.png")
Image.fromarray(content(199, 333, 4), "RGBA").save(f"{out}/rgba.png")
case("rgba", "rgba.png")
Image.fromarray(content(203, 251, 1)[:, :, 0], "L").save(f"{out}/grey.png")
case("grey", "grey.png")
Image.fromarray(content(257, 190, 2), "LA").save(f"{out}/greyalpha.png")
case("greyalpha", "greyalpha.png")
pal = Image.fromarray(content(233, 161, 3)).quantize(colors=37)
pal.info["transparency"] = 5
pal.save(f"{out}/palette.png", transparency=5)
case("palette", "palette.png")
Image.fromarray(content(97, 67, 1)[:, :, 0], "L").convert("1").save(f"{out}/onebit.png")
case("onebit", "onebit.png")
Image.fromarray(content(150, 121, 3)).save(f"{out}/interlaced.png", interlace=1)
case("interlaced", "interlaced.png")
a16 = content(181, 139, 3, depth=16)
png16(f"{out}/rgb16.png", a16, 2)
case("rgb16", "rgb16.png")
png16(f"{out}/rgba16.png", content(129, 143, 4, depth=16), 6)
case("rgba16", "rgba16.png")
# 16-bit grey: PIL opens it as mode "I" and convert("RGB") clamps at 255;
# clayer keeps the high byte, as PIL does for the other 16-bit types.
g16 = content(171, 113, 1, depth=16)[:, :, 0]
Image.fromarray(g16.astype(np.uint16), "I;16").save(f"{out}/grey16.png")
case("grey16", "grey16.png", expect_rgb=np.repeat((g16 >> 8).astype(np.uint8)[:, :, None], 3, 2))
Image.fromarray(content(311, 229, 3)).save(f"{out}/rgb.jpg", quality=90)
case("rgb_jpg", "rgb.jpg")
Image.fromarray(content(239, 313, 3)).save(f"{out}/rgb420.jpg", quality=75, subsampling=2)
case("rgb420_jpg", "rgb420.jpg")
Image.fromarray(content(187, 205, 1)[:, :, 0], "L").save(f"{out}/grey.jpg", quality=85)
case("grey_jpg", "grey.jpg")
# Upscaling (50 -> 256) and settings of one's own: a crop larger than the
# resized image (padded), another mean and std.
Image.fromarray(content(50, 37, 3)).save(f"{out}/small.png")
case("small", "small.png")
case("custom", "rgb.png", s=200, ch=230, cw=370, mean=[0.5, 0.25, 0.0], std=[0.5, 0.125, 1.0])
case("custom_jpg", "rgb.jpg", s=97, ch=64, cw=80, mean=[0.0, 0.0, 0.0], std=[1.0, 1.0, 1.0])
manifest.close()

# Resizes alone, NAME.resized for NAME FILE RW RH in resize.txt: one pass
# only (the height or the width kept), both up, extreme ratios.
with open(f"{out}/resize.txt", "w") as rs:
    for name, file, size in [("vonly", "rgb.png", (301, 150)), ("honly", "rgb.png", (120, 217)),
                             ("up", "small.png", (601, 499)), ("dot", "rgb.jpg", (1, 1)),
                             ("strip", "grey.png", (7, 400)), ("same", "rgba.png", (199, 333))]:
        r = Image.open(f"{out}/{file}").convert("RGB").resize(size, Image.BILINEAR)
        np.asarray(r).tofile(f"{out}/{name}.resized")
        rs.write(f"{name} {file} {size[0]} {size[1]}\n")

with open(f"{out}/bad.txt", "w") as bad:
    def b(file, data, status):
        with open(f"{out}/{file}", "wb") as f:
            f.write(data)
        bad.write(f"{file} {status}\n")

    png = open(f"{out}/rgb.png", "rb").read()
    jpg = open(f"{out}/rgb.jpg", "rb").read()
    b("bad-text.png", b"this is not an image\n", "CLY_ERROR_INVALID_ARGUMENT")
    b("bad-empty.jpg", b"", "CLY_ERROR_INVALID_ARGUMENT")
    b("bad-truncated.png", png[: len(png) // 2], "CLY_ERROR_INVALID_ARGUMENT")
    b("bad-noiend.png", png[:-12], "CLY_ERROR_INVALID_ARGUMENT")
    b("bad-signature.png", png[:8], "CLY_ERROR_INVALID_ARGUMENT")
    b("bad-truncated.jpg", jpg[: len(jpg) // 2], "CLY_ERROR_INVALID_ARGUMENT")
    b("bad-header.jpg", jpg[:20], "CLY_ERROR_INVALID_ARGUMENT")
    crc = bytearray(png)
    crc[50] ^= 0x55  # inside IDAT: its CRC no longer matches
    b("bad-crc.png", bytes(crc), "CLY_ERROR_INVALID_ARGUMENT")
    huge = bytearray(png)
    huge[16:24] = struct.pack(">II", 70000, 10)  # IHDR width over 65535 (CRC fixed)
    huge[29:33] = struct.pack(">I", zlib.crc32(bytes(huge[12:29])))
    b("bad-huge.png", bytes(huge), "CLY_ERROR_TOO_LARGE")
    many = bytearray(png)
    many[16:24] = struct.pack(">II", 10000, 10000)  # 10^8 pixels > 2^26
    many[29:33] = struct.pack(">I", zlib.crc32(bytes(many[12:29])))
    b("bad-pixels.png", bytes(many), "CLY_ERROR_TOO_LARGE")
    Image.fromarray(content(40, 30, 4), "CMYK").save(f"{out}/bad-cmyk.jpg")
    bad.write("bad-cmyk.jpg CLY_ERROR_UNSUPPORTED\n")
    # A JPEG under a .png name decodes: the magic bytes decide.
    b("jpeg-named.png", jpg, "CLY_SUCCESS")
