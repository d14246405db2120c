"""Lays out the network part of an exported SPD detector graph so that onnxruntime fuses it, without retraining.

onnxruntime (graphOptimizationLevel 'all') runs the convolutions in its blocked NCHWc layout and fuses a residual
Add and the Relu after it into the convolution before it, but only when it can prove both Add inputs have the same
shape. The export gives no shapes beyond the graph's input and output (h, w and gh, gw are symbolic), and
onnxruntime follows the spatial size through a 3x3 convolution padded by 1 but not through a dilated one padded by
its dilation: in the blocks with dilation 2 and 4 the residual sum ran as Reshape, Reshape, Add, Reshape, Relu over
the whole feature map instead of inside the convolution (8 nodes for 2 sums). The two heads (score: 1 channel,
box distances: 4) ran as two convolutions, each reordered back to NCHW, then concatenated (5 nodes).

This script
  * declares every feature map from the stem on as [n, channels, gh, gw] (the output grid, the symbols of the
    graph output): true, since the stem's stride is the output stride and every later convolution keeps the size;
  * replaces the heads and their Concat by one 1x1 convolution with both heads' weights stacked (output channel
    order score, 4 distances: the Concat's).
Same weights, same arithmetic per output value up to the order onnxruntime sums a residual in (the fused sum is
the one blocks 0 and 3 already used); outputs equal the unedited graph's to float32 rounding.

    /usr/bin/python3 scripts/detector/fused_network.py models/spd-detector [--out DIR]

Idempotent (meta input.fusedNetwork marks an edited model); train.sh runs it on every newly exported model.
"""
import os

import numpy as np
import onnx
from onnx import helper, numpy_helper

from graph_edit import detector_args, prune_unused, write_detector


def initializer(graph, name):
    for t in graph.initializer:
        if t.name == name:
            return t
    raise SystemExit(f'initializer {name} not found')


def merge_heads(graph):
    """The Concat over channels of two 1x1 convolutions of one input -> one convolution. Returns True when merged."""
    out = graph.output[0].name
    concat = next((n for n in graph.node if n.output[0] == out and n.op_type == 'Concat'), None)
    if concat is None:
        return False
    axis = next((helper.get_attribute_value(a) for a in concat.attribute if a.name == 'axis'), None)
    producers = [next((n for n in graph.node if n.output[0] == i), None) for i in concat.input]
    if axis != 1 or any(p is None or p.op_type != 'Conv' or len(p.input) != 3 for p in producers):
        raise SystemExit(f'{out}: expected a channel Concat of biased convolutions')
    if len({p.input[0] for p in producers}) != 1:
        raise SystemExit(f'{out}: the heads read different inputs')
    for p in producers:
        attrs = {a.name: helper.get_attribute_value(a) for a in p.attribute}
        if attrs.get('kernel_shape') != [1, 1] or attrs.get('group', 1) != 1 or any(s != 1 for s in attrs.get('strides', [1, 1])):
            raise SystemExit(f'{p.name}: not a 1x1 convolution')
    weights = np.concatenate([numpy_helper.to_array(initializer(graph, p.input[1])) for p in producers], axis=0)
    bias = np.concatenate([numpy_helper.to_array(initializer(graph, p.input[2])) for p in producers], axis=0)
    graph.initializer.extend([numpy_helper.from_array(weights, '/heads/weight'), numpy_helper.from_array(bias, '/heads/bias')])
    head = helper.make_node('Conv', [producers[0].input[0], '/heads/weight', '/heads/bias'], [out], name='/heads/Conv',
                            kernel_shape=[1, 1], strides=[1, 1], pads=[0, 0, 0, 0], dilations=[1, 1], group=1)
    at = list(graph.node).index(concat)
    nodes = [n for n in graph.node if n is not concat]
    nodes.insert(at, head)
    del graph.node[:]
    graph.node.extend(nodes)
    prune_unused(graph)
    used = {i for n in graph.node for i in n.input}
    keep = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    return True


def declare_grid_shapes(graph, stem_name):
    """value_info [n, C, gh, gw] for every output of the stem and of the nodes after it (Conv, Relu, Add)."""
    out_dims = graph.output[0].type.tensor_type.shape.dim
    gh, gw = out_dims[2].dim_param, out_dims[3].dim_param
    batch = out_dims[0].dim_param
    if not (gh and gw and batch):
        raise SystemExit('graph output without symbolic n, gh, gw')
    stem = next(n for n in graph.node if n.name == stem_name)
    channels = {}
    weights = {t.name: t for t in graph.initializer}
    declared = []
    frontier = [stem]
    seen = set()
    while frontier:
        node = frontier.pop(0)
        if node.name in seen:
            continue
        seen.add(node.name)
        if node.op_type == 'Conv':
            c = weights[node.input[1]].dims[0]
        elif node.op_type in ('Relu', 'Add'):
            c = channels[next(i for i in node.input if i in channels)]
        else:
            raise SystemExit(f'{node.name}: {node.op_type} after the stem')
        o = node.output[0]
        channels[o] = c
        if o != graph.output[0].name:
            declared.append(helper.make_tensor_value_info(o, onnx.TensorProto.FLOAT, [batch, c, gh, gw]))
        frontier.extend(n for n in graph.node if o in n.input)
    del graph.value_info[:]
    graph.value_info.extend(declared)
    return len(declared)


def main():
    args, out, meta = detector_args()
    if meta['input'].get('fusedNetwork'):
        print(f'{args.dir}: network already laid out for fusion')
        return
    model = onnx.load(os.path.join(args.dir, meta['file']))
    g = model.graph
    before = len(g.node)
    merged = merge_heads(g)
    declared = declare_grid_shapes(g, '/stem/Conv')

    def update(m):
        m['input']['fusedNetwork'] = True

    path, size = write_detector(model, meta, args.dir, out, update)
    print(f'{path}: {before} -> {len(g.node)} nodes (heads {"merged" if merged else "already one"}), '
          f'{declared} feature maps declared [n, C, gh, gw], {size} bytes')


if __name__ == '__main__':
    main()
