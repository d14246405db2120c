#!/usr/bin/python3
"""Cuts the head off a frame-encoder ONNX graph: the sub-graph from the backbone's last feature
map (`out_relu`, plus `pixels` when the head reads the frame itself) to `embedding`. Used by
bench/frames.ts to run the shared MobileNetV2 backbone once for all candidates built on it.

    /usr/bin/python3 scripts/models/extract_head.py MODEL.onnx OUT.onnx
Prints the input names of the head graph (comma-separated).
"""
import sys

import onnx
import onnx.utils

src, out = sys.argv[1], sys.argv[2]
m = onnx.load(src)
producers = {o: n for n in m.graph.node for o in n.output}
# which graph inputs does `embedding` need once out_relu is given?
need, stack, seen = set(), ["embedding"], set()
while stack:
    t = stack.pop()
    if t in seen:
        continue
    seen.add(t)
    if t == "out_relu":
        need.add("out_relu")
        continue
    n = producers.get(t)
    if n is None:
        if t in {i.name for i in m.graph.input}:
            need.add(t)
        continue
    stack.extend(x for x in n.input if x)
inputs = [x for x in ["out_relu", "pixels"] if x in need]
onnx.utils.extract_model(src, out, inputs, ["embedding"])
print(",".join(inputs))
