"""Runs the project's ONNX CNN backbones (as written by convert_keras_to_onnx.py) in PyTorch.

Python here has no onnxruntime, so the frozen backbone for training is executed by this tiny
interpreter: it supports exactly the operators of those graphs (Div, Transpose, Conv with
asymmetric pads, Clip, Relu, Add, Concat, MaxPool, AveragePool, GlobalAveragePool, Flatten,
Identity) and stops at the requested output (default: the `feature_map` tensor). Weights are
frozen buffers (no gradients). Checked against onnxruntime-node by the bench (the exported
models are verified end to end there).
"""

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper


def _attrs(node):
    out = {}
    for a in node.attribute:
        if a.type == onnx.AttributeProto.INTS:
            out[a.name] = list(a.ints)
        elif a.type == onnx.AttributeProto.INT:
            out[a.name] = a.i
        elif a.type == onnx.AttributeProto.FLOAT:
            out[a.name] = a.f
        elif a.type == onnx.AttributeProto.STRING:
            out[a.name] = a.s.decode()
    return out


def _pad_args(pads):
    # ONNX 2-D pads: [top, left, bottom, right] -> F.pad: (left, right, top, bottom)
    t, l, b, r = pads
    return (l, r, t, b)


class OnnxBackbone(torch.nn.Module):
    def __init__(self, path, output="feature_map"):
        super().__init__()
        model = onnx.load(path)
        self.inits = {}
        for i, init in enumerate(model.graph.initializer):
            arr = numpy_helper.to_array(init).copy()
            name = "w%d" % i
            self.register_buffer(name, torch.from_numpy(arr.astype(np.float32) if arr.dtype == np.float64 else arr))
            self.inits[init.name] = name
        # keep only the nodes needed for `output`
        producers = {o: n for n in model.graph.node for o in n.output}
        need, stack = set(), [output]
        while stack:
            t = stack.pop()
            n = producers.get(t)
            if n is None or id(n) in need:
                continue
            need.add(id(n))
            stack.extend(n.input)
        self.nodes = [(n.op_type, list(n.input), list(n.output), _attrs(n)) for n in model.graph.node if id(n) in need]
        self.input_name = model.graph.input[0].name
        self.output = output
        for p in self.parameters():
            p.requires_grad_(False)

    def _get(self, env, name):
        if name in env:
            return env[name]
        return getattr(self, self.inits[name])

    @torch.no_grad()
    def forward(self, pixels):
        env = {self.input_name: pixels}
        for op, ins, outs, at in self.nodes:
            x = [self._get(env, i) if i else None for i in ins]
            if op == "Div":
                y = x[0] / x[1]
            elif op == "Transpose":
                y = x[0].permute(*at["perm"]).contiguous()
            elif op == "Conv":
                w = x[1]
                b = x[2] if len(x) > 2 else None
                pads = at.get("pads", [0, 0, 0, 0])
                inp = x[0]
                if pads[0] == pads[2] and pads[1] == pads[3]:
                    pad = (pads[0], pads[1])
                else:
                    inp = F.pad(inp, _pad_args(pads))
                    pad = (0, 0)
                y = F.conv2d(inp, w, b, stride=at.get("strides", [1, 1]), padding=pad, dilation=at.get("dilations", [1, 1]), groups=at.get("group", 1))
            elif op == "Clip":
                lo = x[1] if len(x) > 1 and x[1] is not None else None
                hi = x[2] if len(x) > 2 and x[2] is not None else None
                y = torch.clamp(x[0], min=float(lo) if lo is not None else None, max=float(hi) if hi is not None else None)
            elif op == "Relu":
                y = F.relu(x[0])
            elif op == "Add":
                y = x[0] + x[1]
            elif op == "Concat":
                y = torch.cat(x, dim=at["axis"])
            elif op in ("MaxPool", "AveragePool"):
                pads = at.get("pads", [0, 0, 0, 0])
                inp = x[0]
                if any(pads):
                    inp = F.pad(inp, _pad_args(pads), value=float("-inf") if op == "MaxPool" else 0.0)
                k, s = at["kernel_shape"], at.get("strides", [1, 1])
                if op == "MaxPool":
                    y = F.max_pool2d(inp, k, s)
                else:
                    if any(pads) and not at.get("count_include_pad", 0):
                        ones = F.pad(torch.ones_like(x[0][:, :1]), _pad_args(pads))
                        y = F.avg_pool2d(inp, k, s) / F.avg_pool2d(ones, k, s)
                    else:
                        y = F.avg_pool2d(inp, k, s)
            elif op == "GlobalAveragePool":
                y = x[0].mean(dim=(2, 3), keepdim=True)
            elif op == "Flatten":
                y = x[0].flatten(at.get("axis", 1))
            elif op == "Identity":
                y = x[0]
            else:
                raise NotImplementedError(op)
            env[outs[0]] = y
        return env[self.output]
