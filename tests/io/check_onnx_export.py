#!/usr/bin/python3
"""onnx.checker on the ONNX models `clayer export` writes.

usage: check_onnx_export.py PATH/TO/clayer

Exports built-in nets and a net of the other layer variants (seeded
weights), runs onnx.checker.check_model(full_check=True) on each (which
includes strict shape inference against the declared outputs), and checks
what the file says: opset 13, a symbolic batch, FLOAT initializers, the
inputs and outputs named after the net's layers. Run by Debian's
/usr/bin/python3 with python3-onnx; exits 77 (skipped) without onnx or
without an OpenCL device.
"""
import os
import subprocess
import sys
import tempfile

try:
    import onnx
    from onnx import TensorProto
except ImportError:
    print("skipping: /usr/bin/python3 has no onnx (Debian: python3-onnx)", file=sys.stderr)
    sys.exit(77)

VARIANTS = """input data c=3 h=17 w=17
conv c1 < data filters=8 size=3 stride=2 pad=0,1,0,1 round=floor
relu leaky < c1 slope=0.1
conv c2 < leaky filters=8 size=3 pad=2 dilation=2 groups=2 nobias
relu six < c2 max=6
conv c3 < six filters=8 size=1x3 pad=0x1
add sum3 < leaky six c3
lrn norm < sum3 size=3 alpha=0.001 beta=0.75 k=2 alpha_mode=raw
pool pavg < norm avg size=3 stride=1 pad=1 exclude_pad
pool pmax < norm max size=3x1 stride=2x1 round=ceil
pool pl2 < norm l2 size=2 stride=2
adaptive_avgpool ada < pavg out=4x8
concat cat < ada pmax
softmax mapsoft < cat
gap g < pl2
fc f1 < cat outputs=12 relu
fc f2 < g outputs=6
lrn fnorm < f2 size=3 alpha=1e-4 beta=0.75 k=1
concat fcat < f1 fnorm
batchnorm bn < fcat eps=0.001
dropout drop < bn p=0.25
fc out < drop outputs=5
softmax prob < out
"""

# net, its input, its outputs, operators it must contain
CASES = [
    ("lenet", "data", ["prob"], {"Conv", "Relu", "AveragePool", "Flatten", "Gemm", "Softmax"}),
    ("fashion", "data", ["prob"], {"MaxPool", "Dropout", "Gemm"}),
    ("resnet18", "data", ["fc"], {"BatchNormalization", "Add", "GlobalAveragePool"}),
    ("googlenet", "data", ["prob"], {"Concat", "LRN", "MaxPool"}),
    ("VARIANTS", "data", ["mapsoft", "prob"],
     {"LeakyRelu", "Clip", "Add", "LRN", "LpPool", "AveragePool", "Reshape", "BatchNormalization", "Concat"}),
]


def check(path, net_input, outputs, ops):
    onnx.checker.check_model(onnx.load(path), full_check=True)
    m = onnx.load(path)
    assert m.ir_version == 7, m.ir_version
    assert [(o.domain, o.version) for o in m.opset_import] == [("", 13)], m.opset_import
    g = m.graph
    assert [i.name for i in g.input] == [net_input], [i.name for i in g.input]
    assert g.input[0].type.tensor_type.shape.dim[0].dim_param == "N"
    assert sorted(o.name for o in g.output) == sorted(outputs), [o.name for o in g.output]
    assert all(t.data_type == TensorProto.FLOAT for t in g.initializer if not t.name.endswith("_shape"))
    have = {n.op_type for n in g.node}
    assert ops <= have, f"missing operators {ops - have}"
    if any(n.op_type == "MaxPool" for n in g.node if n.name == "pmax"):
        pmax = next(n for n in g.node if n.name == "pmax")
        assert any(a.name == "ceil_mode" and a.i == 1 for a in pmax.attribute), "pmax lacks ceil_mode 1"


def main():
    clayer = sys.argv[1]
    failures = 0
    with tempfile.TemporaryDirectory() as work:
        with open(os.path.join(work, "variants.net"), "w") as f:
            f.write(VARIANTS)
        for name, net_input, outputs, ops in CASES:
            src = os.path.join(work, "variants.net") if name == "VARIANTS" else name
            out = os.path.join(work, name + ".onnx")
            r = subprocess.run([clayer, "export", src, "-o", out, "--seed", "5"], capture_output=True, text=True)
            if r.returncode != 0 and "no OpenCL platform" in r.stderr:
                print("skipping: no OpenCL platform", file=sys.stderr)
                return 77
            if r.returncode != 0:
                print(f"FAIL {name}: clayer export exited {r.returncode}: {r.stderr}", file=sys.stderr)
                failures += 1
                continue
            try:
                check(out, net_input, outputs, ops)
                print(f"ok   {name}: {os.path.getsize(out)} bytes, onnx.checker (full_check) passed")
            except Exception as e:  # report every net, then fail
                print(f"FAIL {name}: {type(e).__name__}: {e}", file=sys.stderr)
                failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
