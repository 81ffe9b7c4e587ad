#!/usr/bin/python3
"""Small ONNX models for test_onnx, each with its expected output.

usage: make_onnx.py OUTDIR

Writes OUTDIR/NAME.onnx for every case, and for the models that import:
OUTDIR/NAME.bin (the input, then the expected output, little-endian
float64) and a line "NAME N C H W OUTPUTS" in OUTDIR/cases.txt. Models that
must be refused get a line "NAME|SUBSTRING" in OUTDIR/errors.txt (the
message must contain SUBSTRING). The expected outputs come from the naive
numpy references below, written from the ONNX operator specification, not
from clayer. Seeded, nothing downloaded. Runs on /usr/bin/python3 with
Debian's python3-onnx and python3-numpy."""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(11)
N = 2  # the batch the test runs; the models' batch is symbolic unless said


def f32(a):
    return np.asarray(a, dtype=np.float32)


def rand(*shape, scale=1.0):
    return f32(rng.uniform(-scale, scale, size=shape))


# ---- references (float64 throughout)

def out_size(n, k, s, d, lo, hi, ceil):
    span = d * (k - 1) + 1
    num = n + lo + hi - span
    return (-(-num // s) if ceil else num // s) + 1


def same_pads(n, k, s, d, upper):
    o = -(-n // s)
    total = max(0, (o - 1) * s + (k - 1) * d + 1 - n)
    lo = total // 2 if upper else total - total // 2
    return lo, total - lo


def ref_conv(x, w, b, strides=(1, 1), pads=(0, 0, 0, 0), dil=(1, 1), group=1):
    """ONNX Conv; pads = (top, left, bottom, right)."""
    n, c, h, wd = x.shape
    k, cg, kh, kw = w.shape
    oh = out_size(h, kh, strides[0], dil[0], pads[0], pads[2], False)
    ow = out_size(wd, kw, strides[1], dil[1], pads[1], pads[3], False)
    xp = np.zeros((n, c, h + pads[0] + pads[2] + kh * dil[0], wd + pads[1] + pads[3] + kw * dil[1]))
    xp[:, :, pads[0]:pads[0] + h, pads[1]:pads[1] + wd] = x
    y = np.zeros((n, k, oh, ow))
    kg = k // group
    for o in range(k):
        g = o // kg
        for i in range(oh):
            for j in range(ow):
                acc = np.zeros(n)
                for ci in range(cg):
                    for a in range(kh):
                        for bb in range(kw):
                            acc += xp[:, g * cg + ci, i * strides[0] + a * dil[0], j * strides[1] + bb * dil[1]] * \
                                w[o, ci, a, bb]
                y[:, o, i, j] = acc + (b[o] if b is not None else 0.0)
    return y


def ref_pool(x, kind, k, strides=(1, 1), pads=(0, 0, 0, 0), ceil=False, include_pad=False):
    """ONNX MaxPool / AveragePool. A window's cells outside the input are
    -inf for max; for the average they count when count_include_pad (up to
    the end of the padding: a ceil_mode window past it covers fewer cells),
    else only the cells inside the input count."""
    n, c, h, w = x.shape
    oh = out_size(h, k[0], strides[0], 1, pads[0], pads[2], ceil)
    ow = out_size(w, k[1], strides[1], 1, pads[1], pads[3], ceil)
    y = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            y0, x0 = i * strides[0] - pads[0], j * strides[1] - pads[1]
            y1, x1 = y0 + k[0], x0 + k[1]
            cy0, cx0, cy1, cx1 = max(y0, 0), max(x0, 0), min(y1, h), min(x1, w)
            win = x[:, :, cy0:cy1, cx0:cx1]
            if kind == "max":
                y[:, :, i, j] = win.max(axis=(2, 3))
            else:
                if include_pad:
                    cnt = (min(y1, h + pads[2]) - y0) * (min(x1, w + pads[3]) - x0)
                else:
                    cnt = (cy1 - cy0) * (cx1 - cx0)
                y[:, :, i, j] = win.sum(axis=(2, 3)) / cnt
    return y


def ref_bn(x, scale, bias, mean, var, eps):
    sh = (1, -1, 1, 1)
    return scale.reshape(sh) * (x - mean.reshape(sh)) / np.sqrt(var.reshape(sh) + eps) + bias.reshape(sh)


def ref_lrn(x, size, alpha, beta, bias):
    c = x.shape[1]
    y = np.zeros_like(x)
    for ch in range(c):
        lo = max(0, ch - (size - 1) // 2)
        hi = min(c - 1, ch + -(-(size - 1) // 2))
        sq = (x[:, lo:hi + 1] ** 2).sum(axis=1)
        y[:, ch] = x[:, ch] / (bias + alpha / size * sq) ** beta
    return y


def ref_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def relu(x):
    return np.maximum(x, 0)


# ---- writing

cases = []
errors = []


def t(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def model(name, nodes, inits, in_shape, out_shape, opset=13, batch="N", out_name="y", extra_inputs=()):
    inp = helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch] + list(in_shape[1:]))
    outp = helper.make_tensor_value_info(out_name, TensorProto.FLOAT, None)
    g = helper.make_graph(nodes, name, [inp] + list(extra_inputs), [outp], initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="make_onnx.py")
    m.ir_version = 8
    return m


def case(name, nodes, inits, x, y, opset=13, batch="N", **kw):
    m = model(name, nodes, inits, x.shape, y.shape, opset=opset, batch=batch, **kw)
    with open(os.path.join(OUT, name + ".onnx"), "wb") as f:
        f.write(m.SerializeToString())
    with open(os.path.join(OUT, name + ".bin"), "wb") as f:
        f.write(np.asarray(x, "<f8").tobytes() + np.asarray(y, "<f8").tobytes())
    cases.append(f"{name} {x.shape[0]} {x.shape[1]} {x.shape[2]} {x.shape[3]} {y.size}")


def error(name, nodes, inits, in_shape, substring, opset=13, raw=None, **kw):
    path = os.path.join(OUT, name + ".onnx")
    with open(path, "wb") as f:
        f.write(raw if raw is not None else model(name, nodes, inits, in_shape, None, opset=opset, **kw)
                .SerializeToString())
    errors.append(f"{name}|{substring}")


def node(op, ins, outs, name="", **attrs):
    return helper.make_node(op, ins, outs, name=name, **attrs)


def x_of(c, h, w):
    return f32(rng.uniform(-1, 1, size=(N, c, h, w))).astype(np.float64)


# ---- convolution

def conv_case(name, c, h, w, k, kh, kw, bias=True, opset=13, **attrs):
    x = x_of(c, h, w)
    group = attrs.get("group", 1)
    W = rand(k, c // group, kh, kw)
    B = rand(k) if bias else None
    strides = attrs.get("strides", [1, 1])
    dil = attrs.get("dilations", [1, 1])
    pads = attrs.get("pads", [0, 0, 0, 0])
    ap = attrs.get("auto_pad", "NOTSET")
    if ap.startswith("SAME"):
        pt, pb = same_pads(h, kh, strides[0], dil[0], ap == "SAME_UPPER")
        pl, pr = same_pads(w, kw, strides[1], dil[1], ap == "SAME_UPPER")
        pads = [pt, pl, pb, pr]
    elif ap == "VALID":
        pads = [0, 0, 0, 0]
    y = ref_conv(x, W.astype(np.float64), None if B is None else B.astype(np.float64), strides,
                 (pads[0], pads[1], pads[2], pads[3]), dil, group)
    ins = ["x", "W"] + (["B"] if bias else [])
    inits = [t("W", W)] + ([t("B", B)] if bias else [])
    case(name, [node("Conv", ins, ["y"], name="conv 1!", **attrs)], inits, x, y, opset=opset)


conv_case("conv_basic", 3, 7, 7, 4, 3, 3, pads=[1, 1, 1, 1], kernel_shape=[3, 3])
conv_case("conv_asym", 2, 8, 9, 3, 3, 2, bias=False, pads=[0, 1, 2, 1], strides=[2, 1], dilations=[1, 2])
conv_case("conv_group_floor", 4, 8, 8, 6, 3, 3, group=2, strides=[2, 2])
conv_case("conv_same_upper", 2, 7, 6, 3, 4, 3, auto_pad="SAME_UPPER", strides=[2, 2])
conv_case("conv_same_lower", 2, 7, 6, 3, 4, 3, auto_pad="SAME_LOWER", strides=[2, 2], opset=7)
conv_case("conv_valid", 2, 8, 7, 3, 3, 3, auto_pad="VALID", strides=[2, 2])

# ---- pooling


def pool_case(name, kind, c, h, w, k, opset=13, **attrs):
    x = x_of(c, h, w)
    strides = attrs.get("strides", [1, 1])
    pads = attrs.get("pads", [0, 0, 0, 0])
    ap = attrs.get("auto_pad", "NOTSET")
    if ap.startswith("SAME"):
        pt, pb = same_pads(h, k[0], strides[0], 1, ap == "SAME_UPPER")
        pl, pr = same_pads(w, k[1], strides[1], 1, ap == "SAME_UPPER")
        pads = [pt, pl, pb, pr]
    y = ref_pool(x, kind, k, strides, pads, bool(attrs.get("ceil_mode", 0)),
                 bool(attrs.get("count_include_pad", 0)))
    op = "MaxPool" if kind == "max" else "AveragePool"
    case(name, [node(op, ["x"], ["y"], name=name, kernel_shape=k, **attrs)], [], x, y, opset=opset)


pool_case("maxpool_ceil", "max", 3, 8, 8, [3, 3], strides=[2, 2], ceil_mode=1)
pool_case("maxpool_floor", "max", 3, 8, 9, [3, 3], strides=[2, 2], opset=8)
pool_case("maxpool_pads", "max", 2, 7, 7, [3, 3], strides=[2, 2], pads=[1, 0, 1, 2])
pool_case("maxpool_same", "max", 2, 7, 6, [3, 2], strides=[2, 2], auto_pad="SAME_UPPER")
pool_case("avgpool_include", "avg", 2, 7, 7, [3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1)
pool_case("avgpool_exclude", "avg", 2, 7, 8, [3, 2], strides=[2, 2], pads=[0, 1, 1, 0], count_include_pad=0)
pool_case("avgpool_ceil", "avg", 2, 8, 8, [3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)
pool_case("avgpool_ceil_include", "avg", 2, 8, 8, [3, 3], strides=[2, 2], ceil_mode=1, count_include_pad=1)
pool_case("avgpool_same_lower", "avg", 2, 7, 7, [3, 3], strides=[2, 2], auto_pad="SAME_LOWER")

x = x_of(3, 5, 6)
case("global_avg", [node("GlobalAveragePool", ["x"], ["y"])], [], x, x.mean(axis=(2, 3), keepdims=True))
x = x_of(3, 5, 6)
case("global_max", [node("GlobalMaxPool", ["x"], ["y"])], [], x, x.max(axis=(2, 3), keepdims=True))

# ---- conv + BN + relu, LRN

x = x_of(3, 6, 6)
W, B = rand(4, 3, 3, 3), rand(4)
sc, bi, mu, var = rand(4), rand(4), rand(4), f32(rng.uniform(0.5, 2, 4))
y = relu(ref_bn(ref_conv(x, W.astype(float), B.astype(float), pads=(1, 1, 1, 1)), sc.astype(float), bi.astype(float),
                mu.astype(float), var.astype(float), np.float64(np.float32(1e-3))))
case("conv_bn_relu", [node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1]),
                      node("BatchNormalization", ["c", "s", "b", "m", "v"], ["bn"], epsilon=1e-3, momentum=0.8),
                      node("Relu", ["bn"], ["y"])],
     [t("W", W), t("B", B), t("s", sc), t("b", bi), t("m", mu), t("v", var)], x, y)
# Batch norm that cly_onnx_options.fold_batchnorm folds (a conv without
# bias) and one it must not (the conv's output is also read by the Add).
cbn = ref_bn(ref_conv(x, W.astype(float), None), sc.astype(float), bi.astype(float), mu.astype(float),
             var.astype(float), np.float64(np.float32(1e-5)))
case("conv_nobias_bn", [node("Conv", ["x", "W"], ["c"]), node("BatchNormalization", ["c", "s", "b", "m", "v"], ["y"])],
     [t("W", W), t("s", sc), t("b", bi), t("m", mu), t("v", var)], x, cbn)
case("conv_bn_shared", [node("Conv", ["x", "W"], ["c"]), node("BatchNormalization", ["c", "s", "b", "m", "v"], ["bn"]),
                        node("Add", ["bn", "c"], ["y"])],
     [t("W", W), t("s", sc), t("b", bi), t("m", mu), t("v", var)], x, cbn + ref_conv(x, W.astype(float), None))
x = x_of(3, 4, 4)
y = ref_bn(x, sc[:3].astype(float), bi[:3].astype(float), mu[:3].astype(float), var[:3].astype(float),
           np.float64(np.float32(1e-5)))
case("bn_opset7", [node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], spatial=1)],
     [t("s", sc[:3]), t("b", bi[:3]), t("m", mu[:3]), t("v", var[:3])], x, y, opset=7)

x = x_of(7, 3, 3)
case("lrn", [node("LRN", ["x"], ["y"], size=5, alpha=1e-2, beta=0.75, bias=2.0)], [], x,
     ref_lrn(x, 5, np.float64(np.float32(1e-2)), 0.75, 2.0))
x = x_of(4, 2, 3)
case("lrn_defaults", [node("LRN", ["x"], ["y"], size=3)], [], x,
     ref_lrn(x, 3, np.float64(np.float32(1e-4)), 0.75, 1.0), opset=7)

# ---- fully connected


def flat(x):
    return x.reshape(x.shape[0], -1)


x = x_of(2, 3, 3)
Bm, C = rand(5, 18), rand(5)
alpha, beta = np.float64(np.float32(0.5)), np.float64(np.float32(2.0))
y = alpha * flat(x) @ Bm.astype(float).T + beta * C.astype(float)
case("gemm_transb", [node("Flatten", ["x"], ["f"]), node("Gemm", ["f", "B", "C"], ["y"], transB=1, alpha=0.5, beta=2.0)],
     [t("B", Bm), t("C", C)], x, y)
Bm, C = rand(18, 4), rand(1, 4)
alpha = np.float64(np.float32(1.5))
y = alpha * flat(x) @ Bm.astype(float) + C.astype(float)
case("gemm_c_row", [node("Flatten", ["x"], ["f"], axis=1), node("Gemm", ["f", "B", "C"], ["y"], alpha=1.5)],
     [t("B", Bm), t("C", C)], x, y, opset=9)
case("gemm_no_c", [node("Flatten", ["x"], ["f"]), node("Gemm", ["f", "B"], ["y"])], [t("B", Bm)], x,
     flat(x) @ Bm.astype(float), opset=11)
Bm, C = rand(18, 6), rand(6)
case("matmul_add", [node("Flatten", ["x"], ["f"]), node("MatMul", ["f", "B"], ["mm"]), node("Add", ["mm", "C"], ["y"])],
     [t("B", Bm), t("C", C)], x, flat(x) @ Bm.astype(float) + C.astype(float))


def torch_flatten(opset):
    """torch.onnx's flatten: Shape -> Gather(0) -> Unsqueeze -> Concat with
    [-1] -> Reshape, then Gemm and Softmax (axis 1)."""
    x = x_of(2, 3, 2)
    Bm, C = rand(4, 12), rand(4)
    if opset >= 13:
        unsq = [node("Unsqueeze", ["n", "axes0"], ["n1"])]
        inits = [t("axes0", np.array([0], np.int64))]
    else:
        unsq = [node("Unsqueeze", ["n"], ["n1"], axes=[0])]
        inits = []
    nodes = [node("Shape", ["x"], ["s"]), node("Constant", [], ["zero"], value=t("zero", np.array(0, np.int64))),
             node("Gather", ["s", "zero"], ["n"], axis=0)] + unsq + \
        [node("Constant", [], ["m1"], value=t("m1", np.array([-1], np.int64))),
         node("Concat", ["n1", "m1"], ["shape"], axis=0), node("Reshape", ["x", "shape"], ["f"]),
         node("Gemm", ["f", "B", "C"], ["g"], transB=1), node("Softmax", ["g"], ["y"], axis=1)]
    y = ref_softmax(flat(x) @ Bm.astype(float).T + C.astype(float), 1)
    case(f"torch_flatten_{opset}", nodes, inits + [t("B", Bm), t("C", C)], x, y, opset=opset)


torch_flatten(11)
torch_flatten(13)

x = x_of(3, 2, 2)
Bm = rand(12, 3)
case("reshape_zero", [node("Reshape", ["x", "shape"], ["f"]), node("MatMul", ["f", "B"], ["y"])],
     [t("shape", np.array([0, -1], np.int64)), t("B", Bm)], x, flat(x) @ Bm.astype(float))
x = x_of(3, 2, 2)
case("reshape_fixed_batch", [node("Reshape", ["x", "shape"], ["f"]), node("MatMul", ["f", "B"], ["y"])],
     [t("shape", np.array([N, 12], np.int64)), t("B", Bm)], x, flat(x) @ Bm.astype(float), batch=N)

# GAP -> Squeeze -> Gemm -> Unsqueeze -> Softmax over channels (4-D, opset 11: coerced 2-D, the same)
x = x_of(4, 3, 3)
Bm, C = rand(5, 4), rand(5)
g = x.mean(axis=(2, 3)) @ Bm.astype(float).T + C.astype(float)
case("squeeze_unsqueeze", [node("GlobalAveragePool", ["x"], ["p"]), node("Squeeze", ["p"], ["s"], axes=[2, 3]),
                           node("Gemm", ["s", "B", "C"], ["g"], transB=1), node("Unsqueeze", ["g"], ["u"], axes=[2, 3]),
                           node("Softmax", ["u"], ["y"], axis=1)],
     [t("B", Bm), t("C", C)], x, ref_softmax(g, 1).reshape(N, 5, 1, 1), opset=11)
case("squeeze_13", [node("GlobalAveragePool", ["x"], ["p"]), node("Squeeze", ["p", "ax"], ["s"]),
                    node("Gemm", ["s", "B", "C"], ["g"], transB=1), node("Softmax", ["g"], ["y"])],
     [t("ax", np.array([-1, -2], np.int64)), t("B", Bm), t("C", C)], x, ref_softmax(g, 1), opset=13)

# ---- add, concat, softmax, dropout, identity

x = x_of(3, 5, 5)
W1, W2 = rand(4, 3, 3, 3), rand(4, 3, 1, 1)
c1 = ref_conv(x, W1.astype(float), None, pads=(1, 1, 1, 1))
c2 = ref_conv(x, W2.astype(float), None)
case("add_residual", [node("Conv", ["x", "W1"], ["a"], pads=[1, 1, 1, 1]), node("Conv", ["x", "W2"], ["b"]),
                      node("Add", ["a", "b"], ["s"]), node("Relu", ["s"], ["y"])],
     [t("W1", W1), t("W2", W2)], x, relu(c1 + c2))
W3 = rand(2, 3, 1, 1)
c3 = ref_conv(x, W3.astype(float), None)
case("concat", [node("Conv", ["x", "W1"], ["a"], pads=[1, 1, 1, 1]), node("Conv", ["x", "W3"], ["b"]),
                node("Concat", ["a", "b", "x"], ["y"], axis=1)],
     [t("W1", W1), t("W3", W3)], x, np.concatenate([c1, c3, x], axis=1))
case("concat_neg", [node("Conv", ["x", "W1"], ["a"], pads=[1, 1, 1, 1]), node("Conv", ["x", "W3"], ["b"]),
                    node("Concat", ["a", "b"], ["y"], axis=-3)],
     [t("W1", W1), t("W3", W3)], x, np.concatenate([c1, c3], axis=1), opset=7)

x = x_of(5, 3, 2)
case("softmax_4d", [node("Softmax", ["x"], ["y"], axis=1)], [], x, ref_softmax(x, 1), opset=13)
x = x_of(6, 1, 1)
case("softmax_11", [node("Softmax", ["x"], ["y"])], [], x, ref_softmax(x.reshape(N, 6), 1).reshape(N, 6, 1, 1),
     opset=11)

x = x_of(3, 4, 4)
case("dropout_identity_10", [node("Dropout", ["x"], ["d"], ratio=0.3), node("Identity", ["d"], ["i"]),
                             node("Relu", ["i"], ["y"])], [], x, relu(x), opset=10)
case("dropout_12", [node("Dropout", ["x", "r", "tm"], ["d", "mask"], seed=3), node("Relu", ["d"], ["y"])],
     [t("r", np.array(0.5, np.float32)), t("tm", np.array(False))], x, relu(x), opset=12)

# ---- Clip (ReLU6), LeakyRelu, Pad

x = x_of(3, 4, 5) * 8  # beyond 6 on both sides
case("clip_relu6_11", [node("Clip", ["x", "lo", "hi"], ["y"])],
     [t("lo", np.array(0, np.float32)), t("hi", np.array(6, np.float32))], x, np.clip(x, 0, 6), opset=11)
case("clip_relu6_6", [node("Clip", ["x"], ["y"], min=0.0, max=6.0)], [], x, np.clip(x, 0, 6), opset=7)
case("clip_no_max", [node("Clip", ["x", "lo"], ["y"])], [t("lo", np.array(0, np.float32))], x, relu(x), opset=13)
case("leaky_relu", [node("LeakyRelu", ["x"], ["y"], alpha=0.125)], [], x, np.where(x > 0, x, 0.125 * x))
case("leaky_relu_default", [node("LeakyRelu", ["x"], ["y"])], [], x, np.where(x > 0, x, f32(0.01) * x))
x = x_of(2, 6, 5)
W = rand(3, 2, 3, 3)
xp = np.pad(x, ((0, 0), (0, 0), (1, 0), (2, 1)))
case("pad_conv_13", [node("Pad", ["x", "p"], ["xp"]), node("Conv", ["xp", "W"], ["y"], pads=[1, 0, 0, 1])],
     [t("p", np.array([0, 0, 1, 2, 0, 0, 0, 1], np.int64)), t("W", W)], x,
     ref_conv(xp, W.astype(float), None, pads=(1, 0, 0, 1)))
pt, pb = same_pads(7, 3, 2, 1, True)
pl, pr = same_pads(8, 3, 2, 1, True)
case("pad_conv_10", [node("Pad", ["x"], ["xp"], pads=[0, 0, 1, 2, 0, 0, 0, 1]),
                     node("Conv", ["xp", "W"], ["y"], strides=[2, 2], auto_pad="SAME_UPPER")],
     [t("W", W)], x, ref_conv(xp, W.astype(float), None, strides=(2, 2), pads=(pt, pl, pb, pr)), opset=10)
xp2 = np.pad(x, ((0, 0), (0, 0), (1, 1), (0, 1)))
case("pad_avgpool", [node("Pad", ["x", "p"], ["xp"]), node("AveragePool", ["xp"], ["y"], kernel_shape=[2, 2],
                                                            strides=[2, 2])],
     [t("p", np.array([0, 0, 1, 0, 0, 0, 1, 1], np.int64))], x, ref_pool(xp2, "avg", (2, 2), strides=(2, 2)))
case("pad_zero_avgpool", [node("Pad", ["x", "p"], ["xp"]), node("AveragePool", ["xp"], ["y"], kernel_shape=[2, 2],
                                                                 strides=[2, 2], ceil_mode=1)],
     [t("p", np.zeros(8, np.int64))], x, ref_pool(x, "avg", (2, 2), strides=(2, 2), ceil=True))
case("pad_zero_relu", [node("Pad", ["x", "p"], ["xp"]), node("Relu", ["xp"], ["y"])],
     [t("p", np.zeros(8, np.int64))], x, relu(x))

# Parameters stored outside the model file, in its folder (external data).
x = x_of(2, 4, 4)
W = rand(3, 2, 3, 3)
wt = t("W", W)
with open(os.path.join(OUT, "conv_external.weights"), "wb") as f:
    f.write(b"\0" * 16 + W.astype("<f4").tobytes())
wt.ClearField("raw_data")
wt.data_location = TensorProto.EXTERNAL
for k, v in (("location", "conv_external.weights"), ("offset", "16"), ("length", str(W.size * 4))):
    e = wt.external_data.add()
    e.key, e.value = k, v
case("conv_external", [node("Conv", ["x", "W"], ["y"])], [wt], x, ref_conv(x, W.astype(float), None))

# ---- refused

def one(op, opset=13, **attrs):
    return [node(op, ["x"], ["y"], name="the_node", **attrs)]


error("err_unknown_op", one("Tanh"), [], (N, 3, 4, 4), "the_node' (Tanh, opset 13): operator not supported")
error("err_clip_min", [node("Clip", ["x", "lo", "hi"], ["y"], name="the_node")],
      [t("lo", np.array(-1, np.float32)), t("hi", np.array(6, np.float32))], (N, 3, 4, 4), "Clip(min -1, max 6)")
error("err_clip_unbounded", one("Clip"), [], (N, 3, 4, 4), "Clip(min -inf, max inf)")
error("err_leaky", one("LeakyRelu", alpha=1.5), [], (N, 3, 4, 4), "LeakyRelu alpha 1.5")
error("err_pad_reflect", [node("Pad", ["x", "p"], ["y"], mode="reflect")], [t("p", np.zeros(8, np.int64))],
      (N, 3, 4, 4), "mode 'reflect'")
error("err_pad_value", [node("Pad", ["x", "p", "v"], ["y"])],
      [t("p", np.ones(8, np.int64)), t("v", np.array(1, np.float32))], (N, 3, 4, 4), "constant_value 1")
error("err_pad_channels", [node("Pad", ["x", "p"], ["y"])], [t("p", np.array([0, 1, 0, 0, 0, 0, 0, 0], np.int64))],
      (N, 3, 4, 4), "pads on N or C")
error("err_pad_maxpool", [node("Pad", ["x", "p"], ["xp"]), node("MaxPool", ["xp"], ["y"], kernel_shape=[2, 2])],
      [t("p", np.ones(8, np.int64) * np.array([0, 0, 1, 1, 0, 0, 1, 1]))], (N, 3, 4, 4), "comes from a zero Pad")
error("err_pad_output", [node("Relu", ["x"], ["r"]), node("Pad", ["r", "p"], ["y"])], [t("p", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64))],
      (N, 3, 4, 4), "a Pad's output")
error("err_pad_avg_exclude", [node("Pad", ["x", "p"], ["xp"]),
                              node("AveragePool", ["xp"], ["y"], kernel_shape=[2, 2], pads=[1, 1, 1, 1])],
      [t("p", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64))], (N, 3, 4, 4), "count_include_pad 0")
error("err_cycle", [node("Relu", ["b"], ["a"]), node("Relu", ["a"], ["b"]), node("Relu", ["b"], ["y"])], [],
      (N, 3, 4, 4), "topological")
error("err_opset", one("Relu"), [], (N, 3, 4, 4), "opset 6", opset=6)
error("err_dilated_pool", one("MaxPool", kernel_shape=[2, 2], dilations=[2, 2]), [], (N, 3, 5, 5), "dilation")
error("err_storage_order", one("MaxPool", kernel_shape=[2, 2], storage_order=1), [], (N, 3, 5, 5), "storage_order")
error("err_lrn_even", one("LRN", size=4), [], (N, 6, 2, 2), "even")
error("err_unknown_attr", one("Relu", foo=1), [], (N, 3, 2, 2), "unknown attribute 'foo'")
error("err_conv1d", [node("Conv", ["x", "W"], ["y"])], [t("W", rand(2, 3, 3))], (N, 3, 4, 4), "2-D")
error("err_transa", [node("Flatten", ["x"], ["f"]), node("Gemm", ["f", "B"], ["y"], transA=1)],
      [t("B", rand(12, 2))], (N, 3, 2, 2), "transA")
error("err_softmax_axis", one("Softmax", axis=3), [], (N, 3, 2, 2), "softmax runs over channels")
error("err_softmax_coerce", one("Softmax", axis=1), [], (N, 3, 2, 2), "softmax runs over channels", opset=11)
error("err_reshape", [node("Reshape", ["x", "s"], ["y"])], [t("s", np.array([-1, 3, 4], np.int64))], (N, 3, 2, 2),
      "no reshape layer")
error("err_3d_input", one("Relu"), [], (N, 3, 4), "4-D")
error("err_bcast_add", [node("Add", ["x", "c"], ["y"])], [t("c", rand(3, 1, 1))], (N, 3, 2, 2), "bias of the MatMul")
bad = t("W", rand(2, 3, 1, 1))
bad.raw_data = bad.raw_data[:-4]
error("err_raw_short", [node("Conv", ["x", "W"], ["y"])], [bad], (N, 3, 2, 2), "raw data is 20 bytes")
huge = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[1 << 20, 1 << 20, 1, 1], raw_data=b"\0" * 16)
error("err_huge_dims", [node("Conv", ["x", "W"], ["y"])], [huge], (N, 3, 2, 2), "claim more than")
i32 = TensorProto(name="W", data_type=TensorProto.INT32, dims=[1], int32_data=[1])
error("err_int32", [node("Conv", ["x", "W"], ["y"])], [i32], (N, 3, 2, 2), "INT32")
for nm, loc, msg in (("err_external_escape", "../escape.bin", "leaves the model's folder"),
                     ("err_external_absolute", "/etc/passwd", "absolute path"),
                     ("err_external_short", "conv_external.weights", "has 232 bytes")):
    ext = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[3, 2, 3, 4], data_location=TensorProto.EXTERNAL)
    e = ext.external_data.add()
    e.key, e.value = "location", loc
    error(nm, [node("Conv", ["x", "W"], ["y"])], [ext], (N, 2, 4, 4), msg)
sub = helper.make_graph([node("Relu", ["x"], ["z"])], "sub", [], [helper.make_tensor_value_info("z", 1, None)])
error("err_subgraph", [node("If", ["x"], ["y"], then_branch=sub, else_branch=sub)], [], (N, 1, 1, 1), "subgraph")
deep = helper.make_graph([node("Relu", ["x"], ["z"])], "d", [], [])
for _ in range(12):  # graph -> node -> attribute -> graph ...: nested 36+ messages deep
    deep = helper.make_graph([node("If", ["x"], ["z"], then_branch=deep)], "d", [], [])
error("err_deep", deep.node, [], (N, 1, 1, 1), "nested more than 32 deep")
error("err_garbage", None, None, None, "not a valid ONNX file", raw=b"\xff" * 64)
error("err_ceil_drop", one("MaxPool", kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1], ceil_mode=1), [],
      (N, 1, 4, 4), "ceil_mode")

with open(os.path.join(OUT, "cases.txt"), "w") as f:
    f.write("\n".join(cases) + "\n")
with open(os.path.join(OUT, "errors.txt"), "w") as f:
    f.write("\n".join(errors) + "\n")
