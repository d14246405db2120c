#!/usr/bin/python3
"""The project's MobileNetV2 ONNX graph (models/mobilenetv2-imagenet/model.onnx, nsfwjs' Keras model
converted by convert_keras_to_onnx.py; batch norm already folded into the convolutions) as a
trainable torch module: the graph's own nodes (Div, Transpose, Conv, Clip, Add) run in order, every
Conv becomes an nn.Conv2d with the ONNX initializers as its weights. Keras 'same' padding on the
stride-2 convolutions is asymmetric in the graph (pads [0,0,1,1] = top/left 0, bottom/right 1): those
convolutions get an explicit F.pad, the others use the conv's symmetric padding.

`OnnxMobileNetV2(path, start=None, end="out_relu")` runs the nodes after the producer of `start`
(None = from `pixels` NHWC 0..255) up to `end`, so the frozen front part of the network can be
precomputed once with onnxruntime and only the tail trained. Clean cut points (a stride-2 block
follows, no residual crosses them): block_2_add, block_5_add, block_9_add, block_12_add.
"""

import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper


class OnnxMobileNetV2(torch.nn.Module):
    def __init__(self, path, start=None, end="out_relu"):
        super().__init__()
        m = onnx.load(path)
        inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
        nodes = list(m.graph.node)
        producers = {o: i for i, n in enumerate(nodes) for o in n.output}
        first = 0 if start is None else producers[start] + 1
        last = producers[end]
        self.start = start or "pixels"
        self.end = end
        self.convs = torch.nn.ModuleDict()
        self.prog = []  # (op, inputs, output, extra)
        self.consts = {}
        for n in nodes[first:last + 1]:
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
            key = n.output[0].replace("/", "_").replace(".", "_")
            if n.op_type == "Conv":
                w = torch.from_numpy(inits[n.input[1]].copy())
                b = torch.from_numpy(inits[n.input[2]].copy()) if len(n.input) > 2 else None
                pads = list(attrs.get("pads", [0, 0, 0, 0]))  # [top, left, bottom, right]
                sym = pads[0] == pads[2] and pads[1] == pads[3]
                conv = torch.nn.Conv2d(w.shape[1] * attrs.get("group", 1), w.shape[0], tuple(w.shape[2:]), stride=tuple(attrs.get("strides", [1, 1])),
                                       padding=(pads[0], pads[1]) if sym else 0, groups=attrs.get("group", 1), bias=b is not None)
                with torch.no_grad():
                    conv.weight.copy_(w)
                    if b is not None:
                        conv.bias.copy_(b)
                self.convs[key] = conv
                # F.pad order: (left, right, top, bottom)
                self.prog.append(("Conv", [n.input[0]], n.output[0], (key, None if sym else (pads[1], pads[3], pads[0], pads[2]))))
            elif n.op_type == "Clip":
                lo, hi = float(inits[n.input[1]]), float(inits[n.input[2]])
                self.prog.append(("Clip", [n.input[0]], n.output[0], (lo, hi)))
            elif n.op_type == "Add":
                self.prog.append(("Add", list(n.input), n.output[0], None))
            elif n.op_type == "Div":
                self.prog.append(("Div", [n.input[0]], n.output[0], float(inits[n.input[1]])))
            elif n.op_type == "Transpose":
                self.prog.append(("Transpose", [n.input[0]], n.output[0], list(attrs["perm"])))
            elif n.op_type == "Identity":
                self.prog.append(("Identity", [n.input[0]], n.output[0], None))
            else:
                raise ValueError(f"unsupported op {n.op_type} ({n.output[0]})")
        # when a tensor is last used, so intermediate activations can be dropped early
        self.names = [p[1] for p in self.prog]

    def forward(self, x):
        env = {self.start: x}
        for op, ins, out, extra in self.prog:
            a = env[ins[0]]
            if op == "Conv":
                key, pad = extra
                if pad is not None:
                    a = F.pad(a, pad)
                env[out] = self.convs[key](a)
            elif op == "Clip":
                env[out] = a.clamp(extra[0], extra[1])
            elif op == "Add":
                env[out] = a + env[ins[1]]
            elif op == "Div":
                env[out] = a / extra
            elif op == "Transpose":
                env[out] = a.permute(*extra)
            else:
                env[out] = a
        return env[self.end]

    def conv_keys_after(self, tensor):
        """Names of the convolutions whose node comes after `tensor` is produced (the trainable tail)."""
        outs = [p[2] for p in self.prog]
        i = outs.index(tensor) if tensor in outs else -1
        return [p[3][0] for p in self.prog[i + 1:] if p[0] == "Conv"]
