#!/usr/bin/env python3
"""Export torchvision models with seeded random weights to ONNX, with an
input and PyTorch's logits for it, for tests/io/test_torchvision.c.

    torchvision_export.py OUTDIR [MODEL ...]

MODEL_bn exports MODEL with its batch norms kept as BatchNormalization
nodes (PyTorch's eval-mode export folds them into the convolutions).

For each model writes OUTDIR/MODEL.onnx, OUTDIR/MODEL.input (1x3x224x224
float32, little-endian) and OUTDIR/MODEL.logits (1000 float32). Nothing is
downloaded: the weights are torchvision's own initialisation from a fixed
seed, and batch norm's running statistics are set to seeded values away
from 0 and 1 so that the normalisation is exercised. Run with Debian's
python3 (python3-torch, python3-torchvision, python3-onnx)."""
import os
import sys

import torch
import torchvision

MODELS = {
    "resnet18": lambda: torchvision.models.resnet18(weights=None),
    "resnet50": lambda: torchvision.models.resnet50(weights=None),
    "googlenet": lambda: torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True),
    "alexnet": lambda: torchvision.models.alexnet(weights=None),
    "vgg11": lambda: torchvision.models.vgg11(weights=None),
    "squeezenet1_1": lambda: torchvision.models.squeezenet1_1(weights=None),
    "mobilenet_v2": lambda: torchvision.models.mobilenet_v2(weights=None),
    "densenet121": lambda: torchvision.models.densenet121(weights=None),
}


def export(name, outdir):
    # NAME_bn: the same model with its BatchNormalization nodes kept in the
    # file (PyTorch's eval-mode export folds them into the convolutions).
    base, keep_bn = (name[:-3], True) if name.endswith("_bn") else (name, False)
    torch.manual_seed(1234)
    model = MODELS[base]()
    gen = torch.Generator().manual_seed(99)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(0.1 * torch.randn(c, generator=gen))
            m.running_var.copy_(0.5 + torch.rand(c, generator=gen))
            m.weight.data.copy_(0.5 + torch.rand(c, generator=gen))
            m.bias.data.copy_(0.1 * torch.randn(c, generator=gen))
    model.eval()
    x = torch.randn(1, 3, 224, 224, generator=gen)
    with torch.no_grad():
        logits = model(x)
    path = os.path.join(outdir, name + ".onnx")
    mode = torch.onnx.TrainingMode.PRESERVE if keep_bn else torch.onnx.TrainingMode.EVAL
    torch.onnx.export(model, x, path, opset_version=13, input_names=["data"], output_names=["logits"],
                      do_constant_folding=True, training=mode)
    x.numpy().astype("<f4").tofile(os.path.join(outdir, name + ".input"))
    logits.numpy().astype("<f4").tofile(os.path.join(outdir, name + ".logits"))
    return model  # in eval mode, for classify_onnx.py's PyTorch answers


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(2)
    for name in sys.argv[2:] or list(MODELS):
        if name.removesuffix("_bn") not in MODELS:
            sys.exit(f"torchvision_export.py: unknown model {name}; known: {', '.join(MODELS)}")
        export(name, outdir)


if __name__ == "__main__":
    main()
