#!/usr/bin/python3
"""`clayer classify` on an ONNX resnet18 against PyTorch, for classify_onnx.sh.

    classify_onnx.py make DIR
        DIR/resnet18.onnx (torchvision_export.py's seeded weights), images
        (RGB, greyscale and RGBA PNGs, RGB and greyscale JPEGs, not square,
        seeded gradients and noise), DIR/images.txt (their paths, one a line)
        and DIR/expected.json: PyTorch's top 5 for each, preprocessed by
        torchvision.transforms (Resize(256), CenterCrop(224), ToTensor,
        Normalize(ImageNet)) on Image.open(f).convert("RGB").
    classify_onnx.py check DIR RESULT.json
        RESULT.json (`clayer classify --top 5 --json`) against expected.json:
        the same images in order, the same classes exactly, probabilities
        within 1e-4.

Run with Debian's python3 (python3-torch, python3-torchvision, python3-pil,
python3-onnx); nothing is downloaded."""
import json
import os
import sys

import numpy as np
from PIL import Image

TOLERANCE = 1e-4


def pattern(w, h, bands, seed):
    """Smooth gradients plus seeded noise (not flat, so resizing matters)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    planes = [(0.5 + 0.4 * np.sin(6.0 * x * (b + 1) + 4.0 * y)) * 220 + rng.uniform(0, 35, (h, w))
              for b in range(bands)]
    return np.clip(np.stack(planes, -1), 0, 255).round().astype(np.uint8)


# (file, mode, width, height): PIL writes each in its own mode.
IMAGES = [("rgb.png", "RGB", 300, 200), ("grey.png", "L", 180, 260), ("rgba.png", "RGBA", 260, 180),
          ("rgb.jpg", "RGB", 180, 260), ("grey.jpg", "L", 300, 200)]


def make(outdir):
    import torch
    import torchvision.transforms as T

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import torchvision_export

    torch.set_num_threads(2)
    model = torchvision_export.export("resnet18", outdir)
    paths = []
    for i, (name, mode, w, h) in enumerate(IMAGES):
        a = pattern(w, h, len(mode), seed=20 + i)
        path = os.path.join(outdir, name)
        Image.fromarray(a[:, :, 0] if mode == "L" else a, mode).save(path, **({"quality": 90} if ".jpg" in name else {}))
        paths.append(path)
    with open(os.path.join(outdir, "not-an-image.png"), "w") as f:
        f.write("this is not an image\n")
    tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),
                    T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    x = torch.stack([tf(Image.open(p).convert("RGB")) for p in paths])
    with torch.no_grad():
        prob = torch.softmax(model(x).double(), 1)
    expected = {}
    for p, row in zip(paths, prob):
        top = torch.topk(row, 6)
        # Ranks closer than twice the tolerance could swap within it.
        gaps = (top.values[:-1] - top.values[1:]).tolist()
        assert min(gaps) > 2 * TOLERANCE, f"{p}: PyTorch's top 6 are too close to rank: {top.values.tolist()}"
        expected[p] = [[int(c), float(v)] for c, v in zip(top.indices[:5], top.values[:5])]
    with open(os.path.join(outdir, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    with open(os.path.join(outdir, "images.txt"), "w") as f:
        f.write("".join(p + "\n" for p in paths))


def check(outdir, result):
    expected = json.load(open(os.path.join(outdir, "expected.json")))
    got = json.load(open(result))
    images = [i["image"] for i in got["images"]]
    assert images == list(expected), f"{result}: images {images}, want {list(expected)}"
    bad = 0
    for item in got["images"]:
        want = expected[item["image"]]
        have = [[t["class"], t["probability"]] for t in item["top"]]
        classes_ok = [c for c, _ in have] == [c for c, _ in want]
        err = max(abs(p - q) for (_, p), (_, q) in zip(have, want))
        if not classes_ok or err > TOLERANCE:
            print(f"{result}: {item['image']}: clayer {have}, PyTorch {want}", file=sys.stderr)
            bad += 1
        else:
            print(f"{item['image']}: top 5 {[c for c, _ in have]}, largest probability error {err:.2e}")
    if bad:
        sys.exit(f"{result}: {bad} of {len(images)} images differ from PyTorch")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "make":
        make(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
