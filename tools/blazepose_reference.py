#!/usr/bin/env python3
"""Independent numpy reference for the MediaPipe BlazePose landmark models.

This script reads a BlazePose landmark ``.tflite`` file (lite / full / heavy,
as shipped in the npm package @mediapipe/pose@0.5.1675469404), decodes the
TFLite flatbuffer by hand with ``struct`` and evaluates the graph with numpy,
in float64, implementing each operator the way TFLite's reference kernels do
(NHWC layout, OHWI conv filters, 1HW(C*multiplier) depthwise filters, SAME
padding with the odd pixel after, MAX_POOL_2D ignoring padded cells,
RESIZE_BILINEAR with align_corners / half_pixel_centers).

It shares no code with the C++ importer and is used only to generate
tests/data/blazepose_golden.json, against which the C++ test compares.

Usage:
  /usr/bin/python3 tools/blazepose_reference.py --models DIR \\
      --out tests/data/blazepose_golden.json
  /usr/bin/python3 tools/blazepose_reference.py --dump-ops MODEL.tflite

Requires only numpy (Debian: python3-numpy).
"""

import argparse
import hashlib
import json
import os
import struct
import sys
import time

import numpy as np

PACKAGE = "@mediapipe/pose@0.5.1675469404"
MODELS = ("lite", "full", "heavy")

# BuiltinOperator codes (tensorflow/lite/schema/schema.fbs).
OP_NAMES = {0: "ADD", 3: "CONV_2D", 4: "DEPTHWISE_CONV_2D", 6: "DEQUANTIZE",
            14: "LOGISTIC", 17: "MAX_POOL_2D", 22: "RESHAPE",
            23: "RESIZE_BILINEAR", 34: "PAD"}

# TensorType -> numpy dtype (only the types these models may carry).
TENSOR_TYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8,
                4: np.int64, 9: np.int8}
TYPE_NAMES = {0: "FLOAT32", 1: "FLOAT16", 2: "INT32", 3: "UINT8",
              4: "INT64", 9: "INT8"}

ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}
PADDINGS = {0: "SAME", 1: "VALID"}

# BuiltinOptions union member -> (name, [(field id, field name, kind, default)]).
# The union tag is the member's 1-based position in `union BuiltinOptions`;
# field ids are declaration order inside each table (deprecated fields keep
# their slot, e.g. ResizeBilinearOptions.new_height/new_width = 0/1), as in
# tensorflow/lite/schema/schema.fbs.  kind: b=byte/bool, i=int32, iv=[int].
OPTION_TABLES = {
    1: ("Conv2DOptions", [(0, "padding", "b", 0), (1, "stride_w", "i", 0),
                          (2, "stride_h", "i", 0),
                          (3, "fused_activation_function", "b", 0),
                          (4, "dilation_w_factor", "i", 1),
                          (5, "dilation_h_factor", "i", 1)]),
    2: ("DepthwiseConv2DOptions", [(0, "padding", "b", 0),
                                   (1, "stride_w", "i", 0),
                                   (2, "stride_h", "i", 0),
                                   (3, "depth_multiplier", "i", 0),
                                   (4, "fused_activation_function", "b", 0),
                                   (5, "dilation_w_factor", "i", 1),
                                   (6, "dilation_h_factor", "i", 1)]),
    5: ("Pool2DOptions", [(0, "padding", "b", 0), (1, "stride_w", "i", 0),
                          (2, "stride_h", "i", 0), (3, "filter_width", "i", 0),
                          (4, "filter_height", "i", 0),
                          (5, "fused_activation_function", "b", 0)]),
    11: ("AddOptions", [(0, "fused_activation_function", "b", 0),
                        (1, "pot_scale_int16", "b", 1)]),
    15: ("ResizeBilinearOptions", [(2, "align_corners", "b", 0),
                                   (3, "half_pixel_centers", "b", 0)]),
    17: ("ReshapeOptions", [(0, "new_shape", "iv", None)]),
    22: ("PadOptions", []),
    38: ("DequantizeOptions", []),
}


# --------------------------------------------------------------------------
# Flatbuffer decoding
# --------------------------------------------------------------------------

class Table:
    """A flatbuffer table: position of the table and of its vtable."""

    def __init__(self, buf, pos):
        self.buf = buf
        self.pos = pos
        vt = pos - struct.unpack_from("<i", buf, pos)[0]
        vt_size = struct.unpack_from("<H", buf, vt)[0]
        self.slots = struct.unpack_from("<%dH" % ((vt_size - 4) // 2), buf, vt + 4)

    def _off(self, field):
        return self.slots[field] if field < len(self.slots) else 0

    def scalar(self, field, fmt, default=0):
        o = self._off(field)
        return struct.unpack_from("<" + fmt, self.buf, self.pos + o)[0] if o else default

    def _indirect(self, field):
        o = self._off(field)
        if not o:
            return None
        p = self.pos + o
        return p + struct.unpack_from("<I", self.buf, p)[0]

    def table(self, field):
        p = self._indirect(field)
        return Table(self.buf, p) if p is not None else None

    def vector(self, field):
        """(element start, length) of a vector field, or None."""
        p = self._indirect(field)
        if p is None:
            return None
        return p + 4, struct.unpack_from("<I", self.buf, p)[0]

    def scalars(self, field, fmt):
        v = self.vector(field)
        if v is None:
            return None
        return list(struct.unpack_from("<%d%s" % (v[1], fmt), self.buf, v[0]))

    def tables(self, field):
        v = self.vector(field)
        if v is None:
            return []
        out = []
        for i in range(v[1]):
            p = v[0] + 4 * i
            out.append(Table(self.buf, p + struct.unpack_from("<I", self.buf, p)[0]))
        return out

    def string(self, field):
        v = self.vector(field)
        return None if v is None else self.buf[v[0]:v[0] + v[1]].decode("utf-8")

    def raw(self, field):
        v = self.vector(field)
        return b"" if v is None else self.buf[v[0]:v[0] + v[1]]


class Model:
    """Subgraph 0 of a TFLite model: tensors, operators, inputs, outputs."""

    def __init__(self, path):
        with open(path, "rb") as f:
            buf = f.read()
        self.sha256 = hashlib.sha256(buf).hexdigest()
        if buf[4:8] != b"TFL3":
            raise SystemExit("%s: not a TFLite flatbuffer (identifier %r)" % (path, buf[4:8]))
        root = Table(buf, struct.unpack_from("<I", buf, 0)[0])
        # Model: version 0, operator_codes 1, subgraphs 2, description 3, buffers 4
        self.opcodes = []
        for oc in root.tables(1):
            # OperatorCode: deprecated_builtin_code 0 (byte), custom_code 1,
            # version 2, builtin_code 3 (int)
            code = max(oc.scalar(0, "b"), oc.scalar(3, "i"))
            if oc.string(1) is not None or code not in OP_NAMES:
                raise SystemExit("%s: unsupported operator code %d (custom %r)"
                                 % (path, code, oc.string(1)))
            self.opcodes.append(code)
        buffers = [b.raw(0) for b in root.tables(4)]  # Buffer: data 0
        subgraphs = root.tables(2)
        if len(subgraphs) != 1:
            raise SystemExit("%s: expected one subgraph, found %d" % (path, len(subgraphs)))
        sg = subgraphs[0]
        # SubGraph: tensors 0, inputs 1, outputs 2, operators 3, name 4
        self.tensors = []
        for t in sg.tables(0):
            # Tensor: shape 0, type 1, buffer 2, name 3, quantization 4
            ttype = t.scalar(1, "b")
            shape = t.scalars(0, "i") or []
            data = buffers[t.scalar(2, "I")]
            const = None
            if data:
                if ttype not in TENSOR_TYPES:
                    raise SystemExit("%s: constant of unsupported type %d" % (path, ttype))
                const = np.frombuffer(data, dtype=TENSOR_TYPES[ttype]).reshape(shape)
            self.tensors.append({"name": t.string(3), "shape": shape,
                                 "type": ttype, "const": const})
        self.inputs = sg.scalars(1, "i")
        self.outputs = sg.scalars(2, "i")
        self.operators = []
        for op in sg.tables(3):
            # Operator: opcode_index 0, inputs 1, outputs 2,
            # builtin_options_type 3 (union tag), builtin_options 4
            code = self.opcodes[op.scalar(0, "I")]
            opt_type = op.scalar(3, "B")
            options = self._options(opt_type, op.table(4))
            self.operators.append({"op": OP_NAMES[code], "inputs": op.scalars(1, "i"),
                                   "outputs": op.scalars(2, "i"), "options": options})

    @staticmethod
    def _options(opt_type, table):
        if opt_type == 0:
            return {}
        if opt_type not in OPTION_TABLES:
            raise SystemExit("unsupported BuiltinOptions type %d" % opt_type)
        name, fields = OPTION_TABLES[opt_type]
        out = {"_table": name}
        for fid, fname, kind, default in fields:
            if kind == "iv":
                out[fname] = table.scalars(fid, "i") if table else default
            else:
                fmt = "b" if kind == "b" else "i"
                out[fname] = table.scalar(fid, fmt, default) if table else default
        return out


# --------------------------------------------------------------------------
# Operators (NHWC, batch 1, float64)
# --------------------------------------------------------------------------

def activation(x, code):
    if code not in ACTIVATIONS:
        raise SystemExit("unsupported fused activation %d" % code)
    if code == 1:
        return np.maximum(x, 0.0)
    if code == 2:
        return np.clip(x, -1.0, 1.0)
    if code == 3:
        return np.clip(x, 0.0, 6.0)
    return x


def same_or_valid(size, k, stride, dilation, padding):
    """(out, pad_before, pad_after) as TFLite's ComputePaddingHeightWidth."""
    eff = (k - 1) * dilation + 1
    if PADDINGS[padding] == "SAME":
        out = (size + stride - 1) // stride
    else:
        out = (size - eff + stride) // stride
    total = max((out - 1) * stride + eff - size, 0)
    return out, total // 2, total - total // 2


def windows(x, kh, kw, sh, sw, dh, dw, oh, ow):
    """Yield (i, j, view) with view[y, x, c] = x[y*sh + i*dh, x*sw + j*dw, c]."""
    for i in range(kh):
        for j in range(kw):
            y0, x0 = i * dh, j * dw
            yield i, j, x[y0:y0 + (oh - 1) * sh + 1:sh, x0:x0 + (ow - 1) * sw + 1:sw, :]


def pad_hw(x, pt, pb, pl, pr, value):
    return np.pad(x, ((pt, pb), (pl, pr), (0, 0)), constant_values=value)


def conv2d(x, w, b, o):
    # x: (1,H,W,C), w: (O,KH,KW,I) OHWI, b: (O,)
    _, H, W, C = x.shape
    O, KH, KW, I = w.shape
    assert I == C, (I, C)
    sh, sw = o["stride_h"], o["stride_w"]
    dh, dw = o["dilation_h_factor"], o["dilation_w_factor"]
    oh, pt, pb = same_or_valid(H, KH, sh, dh, o["padding"])
    ow, pl, pr = same_or_valid(W, KW, sw, dw, o["padding"])
    xp = pad_hw(x[0], pt, pb, pl, pr, 0.0)
    # im2col in (kh, kw, c) order to match the OHWI filter flattening.
    cols = np.empty((oh, ow, KH, KW, C), dtype=x.dtype)
    for i, j, v in windows(xp, KH, KW, sh, sw, dh, dw, oh, ow):
        cols[:, :, i, j, :] = v
    y = cols.reshape(oh * ow, KH * KW * C) @ w.reshape(O, KH * KW * I).T
    if b is not None:
        y = y + b
    return activation(y.reshape(1, oh, ow, O), o["fused_activation_function"])


def depthwise_conv2d(x, w, b, o):
    # x: (1,H,W,C), w: (1,KH,KW,C*M)
    _, H, W, C = x.shape
    _, KH, KW, OC = w.shape
    mult = OC // C
    assert mult * C == OC, (C, OC)
    if o["depth_multiplier"] not in (0, mult):
        raise SystemExit("depth_multiplier %d disagrees with filter shape" % o["depth_multiplier"])
    sh, sw = o["stride_h"], o["stride_w"]
    dh, dw = o["dilation_h_factor"], o["dilation_w_factor"]
    oh, pt, pb = same_or_valid(H, KH, sh, dh, o["padding"])
    ow, pl, pr = same_or_valid(W, KW, sw, dw, o["padding"])
    xp = pad_hw(x[0], pt, pb, pl, pr, 0.0)
    if mult > 1:  # output channel c*M + m reads input channel c
        xp = np.repeat(xp, mult, axis=2)
    y = np.zeros((oh, ow, OC), dtype=x.dtype)
    for i, j, v in windows(xp, KH, KW, sh, sw, dh, dw, oh, ow):
        y += v * w[0, i, j, :]
    if b is not None:
        y = y + b
    return activation(y[None], o["fused_activation_function"])


def max_pool2d(x, o):
    _, H, W, C = x.shape
    kh, kw = o["filter_height"], o["filter_width"]
    sh, sw = o["stride_h"], o["stride_w"]
    oh, pt, pb = same_or_valid(H, kh, sh, 1, o["padding"])
    ow, pl, pr = same_or_valid(W, kw, sw, 1, o["padding"])
    xp = pad_hw(x[0], pt, pb, pl, pr, -np.inf)  # padded cells never win
    y = np.full((oh, ow, C), -np.inf, dtype=x.dtype)
    for _, _, v in windows(xp, kh, kw, sh, sw, 1, 1, oh, ow):
        y = np.maximum(y, v)
    return activation(y[None], o["fused_activation_function"])


def interpolation_values(size_out, size_in, scale, half_pixel):
    """TFLite reference ComputeInterpolationValues for every output index.

    The source coordinate is computed in float32 as the kernel does; the
    lower index is clamped at 0 while the weight still uses the unclamped
    coordinate, and the upper index is min(ceil(coord), size_in - 1).
    """
    v = np.arange(size_out, dtype=np.float32)
    scale = np.float32(scale)
    if half_pixel:
        s = (v + np.float32(0.5)) * scale - np.float32(0.5)
    else:
        s = v * scale
    lo = np.maximum(np.floor(s), 0).astype(np.int64)
    hi = np.minimum(np.ceil(s), size_in - 1).astype(np.int64)
    return s.astype(np.float64), lo, hi


def resize_bilinear(x, size, o):
    _, H, W, C = x.shape
    OH, OW = int(size[0]), int(size[1])
    align, half = bool(o["align_corners"]), bool(o["half_pixel_centers"])
    # The reference kernel computes the scales in float32.
    hs = np.float32(H) / np.float32(OH)
    ws = np.float32(W) / np.float32(OW)
    if align and OH > 1:
        hs = np.float32(H - 1) / np.float32(OH - 1)
    if align and OW > 1:
        ws = np.float32(W - 1) / np.float32(OW - 1)
    ys, y0, y1 = interpolation_values(OH, H, hs, half)
    xs, x0, x1 = interpolation_values(OW, W, ws, half)
    dy = (ys - y0)[:, None, None]
    dx = (xs - x0)[None, :, None]
    img = x[0]
    top = img[y0][:, x0] * (1 - dx) + img[y0][:, x1] * dx
    bot = img[y1][:, x0] * (1 - dx) + img[y1][:, x1] * dx
    return (top * (1 - dy) + bot * dy)[None]


def reshape(x, out_shape, o, shape_tensor):
    want = list(out_shape)
    for source in (shape_tensor, o.get("new_shape")):
        if source is not None and len(source):
            s = [int(d) for d in source]
            if -1 in s:
                k = s.index(-1)
                s[k] = x.size // int(np.prod([d for d in s if d != -1]))
            if s != want:
                raise SystemExit("RESHAPE target %s disagrees with output shape %s" % (s, want))
    if int(np.prod(want)) != x.size:
        raise SystemExit("RESHAPE %s -> %s changes the element count" % (x.shape, want))
    return x.reshape(want)


class Interpreter:
    def __init__(self, model, dtype=np.float64):
        self.m = model
        self.dtype = dtype

    def run(self, inputs):
        m, vals = self.m, {}
        for i, t in enumerate(m.tensors):
            if t["const"] is not None:
                c = t["const"]
                vals[i] = c.astype(self.dtype) if c.dtype.kind == "f" else c
        for idx, arr in zip(m.inputs, inputs):
            vals[idx] = np.asarray(arr, dtype=self.dtype).reshape(m.tensors[idx]["shape"])
        for n, op in enumerate(m.operators):
            ins = [vals[i] if i >= 0 else None for i in op["inputs"]]
            o, name = op["options"], op["op"]
            if name == "CONV_2D":
                y = conv2d(ins[0], ins[1], ins[2] if len(ins) > 2 else None, o)
            elif name == "DEPTHWISE_CONV_2D":
                y = depthwise_conv2d(ins[0], ins[1], ins[2] if len(ins) > 2 else None, o)
            elif name == "MAX_POOL_2D":
                y = max_pool2d(ins[0], o)
            elif name == "ADD":
                y = activation(ins[0] + ins[1], o["fused_activation_function"])
            elif name == "LOGISTIC":
                with np.errstate(over="ignore"):  # exp overflow gives exactly 0
                    y = 1.0 / (1.0 + np.exp(-ins[0]))
            elif name == "PAD":
                pads = np.asarray(ins[1]).reshape(-1, 2)
                y = np.pad(ins[0], [tuple(p) for p in pads], constant_values=0.0)
            elif name == "RESHAPE":
                shp = ins[1] if len(ins) > 1 and ins[1] is not None else None
                y = reshape(ins[0], m.tensors[op["outputs"][0]]["shape"], o, shp)
            elif name == "RESIZE_BILINEAR":
                y = resize_bilinear(ins[0], ins[1], o)
            elif name == "DEQUANTIZE":
                src = m.tensors[op["inputs"][0]]
                if src["type"] != 1:
                    raise SystemExit("DEQUANTIZE from %s not supported" % TYPE_NAMES.get(src["type"]))
                y = ins[0].astype(self.dtype)
            else:
                raise SystemExit("operator %d: unsupported %s" % (n, name))
            y = y.astype(self.dtype, copy=False)
            want = m.tensors[op["outputs"][0]]["shape"]
            if list(y.shape) != list(want):
                raise SystemExit("operator %d (%s): shape %s, model says %s"
                                 % (n, name, list(y.shape), want))
            vals[op["outputs"][0]] = y
        return [vals[i] for i in m.outputs]


# --------------------------------------------------------------------------
# Golden data
# --------------------------------------------------------------------------

INPUT_FORMULAS = {
    "A": "x[h,w,c] = 0.5 + 0.45*sin(0.031*h*(c+1) + 0.017*w*(3-c) + c), "
         "float64 then float32, shape 1x256x256x3 NHWC",
    "B": "x[h,w,c] = ((h*7 + w*13 + c*29) % 256) / 255.0, "
         "float64 then float32, shape 1x256x256x3 NHWC",
}


def golden_input(which):
    h, w, c = np.meshgrid(np.arange(256), np.arange(256), np.arange(3), indexing="ij")
    if which == "A":
        x = 0.5 + 0.45 * np.sin(0.031 * h * (c + 1) + 0.017 * w * (3 - c) + c)
    else:
        x = ((h * 7 + w * 13 + c * 29) % 256) / 255.0
    return x.astype(np.float64).astype(np.float32)[None]


def sig6(v):
    return float("%.6g" % float(v))


def summarize(name, shape, y, y32):
    flat = np.asarray(y, dtype=np.float64).reshape(-1)
    dev = np.abs(flat - np.asarray(y32, dtype=np.float64).reshape(-1)).max()
    out = {"name": name, "shape": list(shape), "f32_max_abs_diff": sig6(dev)}
    n = flat.size
    if n <= 512:
        out["values"] = [sig6(v) for v in flat]
    else:
        idx = [(i * 7919 + 13) % n for i in range(1500)]
        out["sample"] = [sig6(flat[k]) for k in idx]
        last = flat.reshape(-1, shape[-1])
        out["channel_sum"] = [sig6(v) for v in last.sum(axis=0)]
        out["channel_max"] = [sig6(v) for v in last.max(axis=0)]
    return out


def dump_ops(path):
    m = Model(path)
    t = m.tensors
    fmt = lambda i: "-" if i < 0 else "%s%s%s" % (
        t[i]["name"], t[i]["shape"], "" if t[i]["type"] == 0 else ":" + TYPE_NAMES.get(t[i]["type"], "?"))
    print("# %s sha256=%s" % (path, m.sha256))
    print("# inputs: %s" % ", ".join(fmt(i) for i in m.inputs))
    print("# outputs: %s" % ", ".join(fmt(i) for i in m.outputs))
    counts = {}
    for n, op in enumerate(m.operators):
        counts[op["op"]] = counts.get(op["op"], 0) + 1
        opts = {k: (PADDINGS.get(v, v) if k == "padding" else
                    ACTIVATIONS.get(v, v) if k == "fused_activation_function" else v)
                for k, v in op["options"].items() if k != "_table"}
        print("%4d %-18s in=[%s] out=[%s] %s" % (
            n, op["op"], ", ".join(fmt(i) for i in op["inputs"]),
            ", ".join(str(t[i]["shape"]) for i in op["outputs"]),
            json.dumps(opts, sort_keys=True)))
    print("# %d operators: %s" % (len(m.operators),
                                  ", ".join("%s=%d" % kv for kv in sorted(counts.items()))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", help="directory holding pose_landmark_{lite,full,heavy}.tflite")
    ap.add_argument("--out", help="golden JSON to write")
    ap.add_argument("--dump-ops", metavar="MODEL", help="print the operators of MODEL and exit")
    ap.add_argument("--only", choices=MODELS, action="append", help="restrict to these models")
    args = ap.parse_args()
    if args.dump_ops:
        dump_ops(args.dump_ops)
        return
    if not args.models or not args.out:
        ap.error("--models and --out are required (or --dump-ops MODEL)")

    doc = {"package": PACKAGE, "generator": "tools/blazepose_reference.py",
           "compute": "float64 numpy reference of the TFLite reference kernels; "
                      "values rounded to 6 significant digits",
           "inputs": INPUT_FORMULAS,
           "sampling": "tensors with <= 512 elements: all values in NHWC row-major "
                       "order; otherwise sample[i] = flat[(i*7919 + 13) % N] for "
                       "i in 0..1499, plus channel_sum / channel_max over the last "
                       "dimension",
           "f32_max_abs_diff": "max |float32 - float64| over the whole tensor when "
                               "this reference runs in float32; a scale for test "
                               "tolerances",
           "sha256": {}, "models": {}}
    inputs = {k: golden_input(k) for k in ("A", "B")}
    for key in args.only or MODELS:
        path = os.path.join(args.models, "pose_landmark_%s.tflite" % key)
        m = Model(path)
        doc["sha256"]["pose_landmark_%s.tflite" % key] = m.sha256
        interp, interp32 = Interpreter(m), Interpreter(m, np.float32)
        entry = {}
        for which, x in inputs.items():
            t0 = time.time()
            ys = interp.run([x])
            dt = time.time() - t0
            ys32 = interp32.run([x])
            entry[which] = [summarize(m.tensors[i]["name"], m.tensors[i]["shape"], y, y32)
                            for i, y, y32 in zip(m.outputs, ys, ys32)]
            lm = ys[0].reshape(-1)
            print("%s/%s: %.1fs  outputs %s  landmark[0]=%s" % (
                key, which, dt, [m.tensors[i]["shape"] for i in m.outputs],
                np.round(lm[:5], 3).tolist()), file=sys.stderr)
        doc["models"][key] = entry
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print("wrote %s (%d bytes)" % (args.out, os.path.getsize(args.out)), file=sys.stderr)


if __name__ == "__main__":
    main()
