#!/usr/bin/python3
"""Convert a Keras (2.2.x layers JSON) CNN backbone, as extracted from nsfwjs by
scripts/models/extract-nsfwjs.mjs, into an ONNX graph (opset 17) built with
onnx.helper.

Run with Debian's interpreter (it has onnx + numpy):

    /usr/bin/python3 scripts/models/convert_keras_to_onnx.py [mobilenet_v2|inception_v3]
        [--src build/models-src/<model>] [--out <file.onnx>]
        [--feature-layer NAME] [--force]

The graph is cut before the classification head: the feature layer (by default
the input of the head's pooling/Flatten, e.g. `out_relu` for MobileNetV2) is the
last backbone feature map. Graph I/O:

    pixels       float32 [N, H, W, 3]  raw RGB 0..255, NHWC (dynamic batch)
    embedding    float32 [N, C]        global average of the feature map (not L2-normalised)
    feature_map  float32 [N, C, h, w]  the feature map itself, NCHW

The nsfwjs preprocessing (x / 255, see topology.json "preprocessing") is baked
in; the graph transposes to NCHW once and runs entirely in NCHW.
BatchNormalization following a linear Conv/DepthwiseConv is folded into the
conv (in float64, stored as float32); ZeroPadding2D feeding a conv is folded
into the conv's pads.

Supported Keras layers: InputLayer, ZeroPadding2D, Conv2D, DepthwiseConv2D,
BatchNormalization, ReLU, Activation, Add, Concatenate, MaxPooling2D,
AveragePooling2D, GlobalAveragePooling2D, Dropout. Layers after the feature
layer (Flatten/Dense/... of the head) are never visited.

Output is deterministic (no timestamps; fixed node/initializer order) and the
script is idempotent: it does nothing when the output is newer than all its
inputs (including this script) unless --force is given.
"""

import argparse
import json
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_OUT = {
    "mobilenet_v2": "models/mobilenetv2-imagenet/model.onnx",
    "inception_v3": "build/models-onnx/inception_v3/model.onnx",
}
HEAD_TYPES = {"Flatten", "Dense", "GlobalAveragePooling2D", "GlobalMaxPooling2D"}
NHWC_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1, -1: 1, -2: 3, -3: 2}


def fail(msg):
    sys.exit("convert_keras_to_onnx: " + msg)


def tf_same_pads(size, k, s, d=1):
    """TensorFlow SAME padding for one spatial dim -> (before, after, out)."""
    k_eff = (k - 1) * d + 1
    out = -(-size // s)
    total = max((out - 1) * s + k_eff - size, 0)
    return total // 2, total - total // 2, out


def valid_out(size, k, s, d=1):
    return (size - ((k - 1) * d + 1)) // s + 1


class Converter:
    def __init__(self, topo, index, blob):
        self.topo = topo
        self.cfg = topo["model_config"]["config"]
        self.layers = self.cfg["layers"]
        self.by_name = {l["name"]: l for l in self.layers}
        self.weights = {}
        for t in index:
            arr = np.frombuffer(blob, dtype="<f4", count=t["length"], offset=t["offset"])
            self.weights[t["name"]] = arr.reshape(t["shape"]).astype(np.float32)
        self.used_weights = set()
        self.nodes = []
        self.inits = []
        self.shape = {}  # tensor name -> [H, W, C] (spatial, channels); batch is dynamic
        self.tensor = {}  # keras layer name -> onnx tensor name (NCHW)
        self.consumers = {}
        for l in self.layers:
            for src in self.inbound(l):
                self.consumers.setdefault(src, []).append(l["name"])
        self.folded = set()
        self.pending_pad = {}  # conv layer name -> (top, left, bottom, right) from a folded ZeroPadding2D

    # -- helpers -------------------------------------------------------------
    @staticmethod
    def inbound(layer):
        nodes = layer.get("inbound_nodes") or []
        if not nodes:
            return []
        if len(nodes) != 1:
            fail(f"layer {layer['name']} is shared ({len(nodes)} inbound nodes): unsupported")
        return [n[0] for n in nodes[0]]

    def w(self, name):
        if name not in self.weights:
            fail(f"missing weight {name}")
        self.used_weights.add(name)
        return self.weights[name].astype(np.float64)

    def has_w(self, name):
        return name in self.weights

    def init(self, name, arr):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr.astype(np.float32)), name))
        return name

    def node(self, op, inputs, outputs, name, **attrs):
        self.nodes.append(helper.make_node(op, inputs, outputs, name=name, **attrs))

    def sole_consumer(self, lname):
        c = self.consumers.get(lname, [])
        return self.by_name[c[0]] if len(c) == 1 else None

    def feature_layer(self):
        for l in self.layers:
            if l["class_name"] in HEAD_TYPES:
                src = self.by_name[self.inbound(l)[0]]
                if src["class_name"] in ("AveragePooling2D", "MaxPooling2D"):
                    src = self.by_name[self.inbound(src)[0]]
                return src["name"]
        fail("cannot auto-detect the feature layer; pass --feature-layer")

    def ancestors(self, name):
        need, stack = set(), [name]
        while stack:
            n = stack.pop()
            if n in need:
                continue
            need.add(n)
            stack.extend(self.inbound(self.by_name[n]))
        return need

    # -- conversion ----------------------------------------------------------
    def convert(self, feature_layer, scale_div):
        need = self.ancestors(feature_layer)
        self.feature, self.need = feature_layer, need
        inputs = [l for l in self.layers if l["class_name"] == "InputLayer" and l["name"] in need]
        if len(inputs) != 1:
            fail("expected exactly one input layer")
        inp = inputs[0]
        _, H, W, C = inp["config"]["batch_input_shape"]
        if C != 3:
            fail(f"expected RGB input, got {C} channels")
        self.input_hw = (H, W)
        # pixels (NHWC 0..255) -> /255 -> NCHW
        self.init("preproc_divisor", np.array(scale_div, dtype=np.float32))
        self.node("Div", ["pixels", "preproc_divisor"], ["pixels_scaled"], "preproc_scale")
        self.node("Transpose", ["pixels_scaled"], ["input_nchw"], "preproc_nhwc_to_nchw", perm=[0, 3, 1, 2])
        self.tensor[inp["name"]] = "input_nchw"
        self.shape["input_nchw"] = [H, W, C]

        for l in self.layers:
            n = l["name"]
            if n not in need or l["class_name"] == "InputLayer" or n in self.folded:
                continue
            fn = getattr(self, "op_" + l["class_name"], None)
            if fn is None:
                fail(f"unsupported layer type {l['class_name']} ({n})")
            srcs = []
            for s in self.inbound(l):
                # a folded layer (BN / padding) maps to its producer's tensor
                srcs.append(self.tensor[s])
            fn(l, l["config"], srcs)

        fm = self.tensor[feature_layer]
        fh, fw, fc = self.shape[fm]
        self.node("Identity", [fm], ["feature_map"], "output_feature_map")
        self.node("GlobalAveragePool", [fm], ["embedding_4d"], "embedding_gap")
        self.node("Flatten", ["embedding_4d"], ["embedding"], "embedding_flatten", axis=1)
        self.out_shape = (fc, fh, fw)

        unused = sorted(k for k in self.weights if k not in self.used_weights
                        and k.split("/")[0] in need)
        if unused:
            fail(f"backbone weights not consumed: {unused[:5]}")
        return self.build_model()

    def out(self, layer, shape, tensor=None):
        t = tensor or layer["name"]
        self.tensor[layer["name"]] = t
        self.shape[t] = shape
        return t

    def act(self, activation, x, name):
        if activation in (None, "linear"):
            return x
        op = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softmax": "Softmax"}.get(activation)
        if op is None:
            fail(f"unsupported activation {activation} in {name}")
        y = name + "/" + activation
        kw = {"axis": 1} if op == "Softmax" else {}
        self.node(op, [x], [y], y, **kw)
        return y

    def op_Dropout(self, l, c, srcs):
        self.out(l, self.shape[srcs[0]], srcs[0])

    def op_ZeroPadding2D(self, l, c, srcs):
        (t, b), (lft, r) = c["padding"]
        consumer = self.sole_consumer(l["name"])
        h, w, ch = self.shape[srcs[0]]
        if consumer is not None and consumer["class_name"] in ("Conv2D", "DepthwiseConv2D") \
                and consumer["config"]["padding"] == "valid":
            # zero padding feeding a VALID conv: fold into the conv's pads attribute
            self.pending_pad[consumer["name"]] = (t, lft, b, r)
            self.tensor[l["name"]] = srcs[0]
            return
        n = l["name"]
        self.inits.append(numpy_helper.from_array(np.array([0, 0, t, lft, 0, 0, b, r], dtype=np.int64), n + "/pads"))
        self.node("Pad", [srcs[0], n + "/pads"], [n], n, mode="constant")
        self.out(l, [h + t + b, w + lft + r, ch])

    def _conv(self, l, c, srcs, kernel, bias, group):
        name = l["name"]
        kh, kw = c["kernel_size"]
        sh, sw = c["strides"]
        dh, dw = c.get("dilation_rate", [1, 1])
        if c.get("data_format", "channels_last") != "channels_last":
            fail(f"{name}: only channels_last supported")
        h, w, _ = self.shape[srcs[0]]
        pre = self.pending_pad.get(name)
        pt, pl, pb, pr = pre if pre is not None else (0, 0, 0, 0)
        ph, pw = h + pt + pb, w + pl + pr
        if c["padding"] == "same":
            if pre is not None:
                fail(f"{name}: ZeroPadding2D before a SAME conv")
            pt, pb, oh = tf_same_pads(h, kh, sh, dh)
            pl, pr, ow = tf_same_pads(w, kw, sw, dw)
        elif c["padding"] == "valid":
            oh, ow = valid_out(ph, kh, sh, dh), valid_out(pw, kw, sw, dw)
        else:
            fail(f"{name}: padding {c['padding']}")
        cout = kernel.shape[0]

        # fold a directly following BatchNormalization (only if linear activation)
        bn = self.sole_consumer(name)
        if bn is not None and bn["class_name"] == "BatchNormalization" \
                and c.get("activation", "linear") == "linear" and name != self.feature \
                and bn["name"] in self.need:
            scale, shift = self.bn_affine(bn, cout)
            kernel = kernel * scale.reshape(-1, 1, 1, 1)
            bias = (bias if bias is not None else np.zeros(cout)) * scale + shift
            self.folded.add(bn["name"])
            out_layer_name = bn["name"]
        else:
            bn = None
            out_layer_name = name

        inputs = [srcs[0], self.init(name + "/W", kernel)]
        if bias is not None:
            inputs.append(self.init(name + "/B", bias))
        y = out_layer_name
        self.node("Conv", inputs, [y], name, kernel_shape=[kh, kw], strides=[sh, sw],
                  dilations=[dh, dw], pads=[pt, pl, pb, pr], group=group)
        y = self.act(c.get("activation", "linear"), y, name)
        self.out(l, [oh, ow, cout], y)
        if bn is not None:
            self.out(bn, [oh, ow, cout], y)

    def op_Conv2D(self, l, c, srcs):
        k = self.w(l["name"] + "/kernel")  # [kh, kw, cin, cout]
        b = self.w(l["name"] + "/bias") if c.get("use_bias") else None
        if c.get("groups", 1) != 1:
            fail("grouped Conv2D unsupported")
        self._conv(l, c, srcs, k.transpose(3, 2, 0, 1), b, 1)

    def op_DepthwiseConv2D(self, l, c, srcs):
        k = self.w(l["name"] + "/depthwise_kernel")  # [kh, kw, cin, mult]
        kh, kw, cin, mult = k.shape
        b = self.w(l["name"] + "/bias") if c.get("use_bias") else None
        # TF output channel index = c * mult + m; ONNX group conv: group c owns outputs c*mult..c*mult+mult-1
        kk = k.transpose(2, 3, 0, 1).reshape(cin * mult, 1, kh, kw)
        self._conv(l, c, srcs, kk, b, cin)

    def bn_affine(self, l, ch):
        c = l["config"]
        axis = c.get("axis", -1)
        if isinstance(axis, list):
            axis = axis[0]
        if axis not in (-1, 3):
            fail(f"{l['name']}: BatchNormalization axis {axis} unsupported")
        n = l["name"]
        gamma = self.w(n + "/gamma") if c.get("scale", True) else np.ones(ch)
        beta = self.w(n + "/beta") if c.get("center", True) else np.zeros(ch)
        mean, var = self.w(n + "/moving_mean"), self.w(n + "/moving_variance")
        scale = gamma / np.sqrt(var + c["epsilon"])
        return scale, beta - mean * scale

    def op_BatchNormalization(self, l, c, srcs):
        h, w, ch = self.shape[srcs[0]]
        scale, shift = self.bn_affine(l, ch)
        n = l["name"]
        self.node("Mul", [srcs[0], self.init(n + "/scale", scale.reshape(ch, 1, 1))], [n + "/mul"], n + "/mul")
        self.node("Add", [n + "/mul", self.init(n + "/shift", shift.reshape(ch, 1, 1))], [n], n)
        self.out(l, [h, w, ch])

    def op_ReLU(self, l, c, srcs):
        n = l["name"]
        if c.get("negative_slope", 0) or c.get("threshold", 0):
            fail(f"{n}: ReLU with negative_slope/threshold unsupported")
        mx = c.get("max_value")
        if mx is None:
            self.node("Relu", [srcs[0]], [n], n)
        else:
            self.init(n + "/min", np.array(0, dtype=np.float32))
            self.init(n + "/max", np.array(mx, dtype=np.float32))
            self.node("Clip", [srcs[0], n + "/min", n + "/max"], [n], n)
        self.out(l, self.shape[srcs[0]])

    def op_Activation(self, l, c, srcs):
        y = self.act(c["activation"], srcs[0], l["name"])
        self.out(l, self.shape[srcs[0]], y)

    def op_Add(self, l, c, srcs):
        n = l["name"]
        acc = srcs[0]
        for i, s in enumerate(srcs[1:]):
            y = n if i == len(srcs) - 2 else f"{n}/{i}"
            self.node("Add", [acc, s], [y], y)
            acc = y
        self.out(l, self.shape[srcs[0]])

    def op_Concatenate(self, l, c, srcs):
        n = l["name"]
        axis = NHWC_TO_NCHW_AXIS[c.get("axis", -1)]
        if axis != 1:
            fail(f"{n}: only channel concat supported")
        self.node("Concat", srcs, [n], n, axis=1)
        h, w, _ = self.shape[srcs[0]]
        self.out(l, [h, w, sum(self.shape[s][2] for s in srcs)])

    def _pool(self, l, c, srcs, op):
        n = l["name"]
        kh, kw = c["pool_size"]
        sh, sw = c.get("strides") or c["pool_size"]
        h, w, ch = self.shape[srcs[0]]
        if c["padding"] == "same":
            pt, pb, oh = tf_same_pads(h, kh, sh)
            pl, pr, ow = tf_same_pads(w, kw, sw)
        else:
            pt = pb = pl = pr = 0
            oh, ow = valid_out(h, kh, sh), valid_out(w, kw, sw)
        kw_ = {"kernel_shape": [kh, kw], "strides": [sh, sw], "pads": [pt, pl, pb, pr]}
        if op == "AveragePool":
            kw_["count_include_pad"] = 0  # TF excludes padding from the average
        self.node(op, [srcs[0]], [n], n, **kw_)
        self.out(l, [oh, ow, ch])

    def op_MaxPooling2D(self, l, c, srcs):
        self._pool(l, c, srcs, "MaxPool")

    def op_AveragePooling2D(self, l, c, srcs):
        self._pool(l, c, srcs, "AveragePool")

    def op_GlobalAveragePooling2D(self, l, c, srcs):
        n = l["name"]
        self.node("GlobalAveragePool", [srcs[0]], [n], n)
        self.out(l, [1, 1, self.shape[srcs[0]][2]])

    # -- model ---------------------------------------------------------------
    def build_model(self):
        H, W = self.input_hw
        C, h, w = self.out_shape
        src = self.topo.get("source", {})
        graph = helper.make_graph(
            self.nodes,
            "backbone",
            [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["N", H, W, 3])],
            [
                helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", C]),
                helper.make_tensor_value_info("feature_map", TensorProto.FLOAT, ["N", C, h, w]),
            ],
            initializer=self.inits,
        )
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            producer_name="vidtrace/scripts/models/convert_keras_to_onnx.py",
            producer_version="1",
            doc_string=(f"Backbone of {src.get('model')} from npm {src.get('package')}@{src.get('version')} "
                        f"({src.get('license')}). Input: raw RGB 0..255 NHWC; x/255 baked in."),
        )
        model.ir_version = 8  # opset 17
        helper.set_model_props(model, {
            "source": f"npm:{src.get('package')}@{src.get('version')}/{src.get('path')}",
            "license": str(src.get("license")),
            "input_range": "0..255 RGB NHWC",
            "preprocessing": "x / 255 (as nsfwjs infer())",
            "outputs": "embedding=global average of feature_map (not L2-normalised); feature_map=NCHW",
        })
        onnx.checker.check_model(model, full_check=True)
        return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?", default="mobilenet_v2")
    ap.add_argument("--src", help="extracted model dir (default build/models-src/<model>)")
    ap.add_argument("--out", help="output .onnx (default per model)")
    ap.add_argument("--feature-layer", help="Keras layer whose output is the feature map (default: auto)")
    ap.add_argument("--force", action="store_true", help="rebuild even if the output is up to date")
    a = ap.parse_args()

    src = os.path.join(REPO, a.src or os.path.join("build", "models-src", a.model))
    out = os.path.join(REPO, a.out or DEFAULT_OUT.get(a.model) or fail(f"no default --out for {a.model}"))
    files = [os.path.join(src, f) for f in ("topology.json", "weights.json", "weights.bin")]
    for f in files:
        if not os.path.exists(f):
            fail(f"missing {f}; run: node scripts/models/extract-nsfwjs.mjs {a.model}")
    deps = files + [os.path.abspath(__file__)]
    if not a.force and os.path.exists(out) and os.path.getmtime(out) > max(map(os.path.getmtime, deps)):
        print(f"up to date: {os.path.relpath(out, REPO)} (use --force to rebuild)")
        return

    with open(files[0]) as f:
        topo = json.load(f)
    with open(files[1]) as f:
        index = json.load(f)
    with open(files[2], "rb") as f:
        blob = f.read()

    conv = Converter(topo, index, blob)
    feature = a.feature_layer or conv.feature_layer()
    if feature not in conv.by_name:
        fail(f"no layer named {feature}")
    pre = topo.get("preprocessing", {})
    scale = pre.get("scale", 1 / 255)
    if pre.get("offset", 0) != 0:
        fail("only pure scaling preprocessing supported")
    model = conv.convert(feature, np.float32(round(1 / scale, 6)))

    # sanity: report the head's pooling vs the feature map size
    for l in conv.layers:
        if l["class_name"] == "AveragePooling2D" and conv.inbound(l) == [feature]:
            C, h, w = conv.out_shape
            print(f"head pooling {l['name']}: pool_size={l['config']['pool_size']} on {h}x{w} map"
                  f" -> {'global average' if l['config']['pool_size'] == [h, w] else 'NOT global'}")

    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(model.SerializeToString())
    os.replace(tmp, out)
    n_params = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    C, h, w = conv.out_shape
    print(f"wrote {os.path.relpath(out, REPO)}: feature layer {feature} -> feature_map [N,{C},{h},{w}], "
          f"embedding [N,{C}]; {len(model.graph.node)} nodes, {n_params} params, "
          f"{os.path.getsize(out)} bytes, {len(conv.folded)} BN folded")


if __name__ == "__main__":
    main()
