"""Moves a pooled SPD detector exported before 2026-12-06 to the padded-input contract, without retraining.

Those graphs masked the full-resolution input before max-pooling it (Range/Less/And/Where over every cell:
an eighth of onnxruntime's time on a 120x600 matrix). train_detector.py now exports MaxPool on the raw input
and sets meta input.pad: the caller (src/detect/spd-detector.ts, copyWindow) fills the padding with that
value, below every similarity, so it never wins a pooling block; the channels clip and mask the pooled
matrix as before. This script rewires MaxPool to the graph input, drops the nodes nothing reads any more,
and updates meta.json (input.pad, layout, sha256, bytes). The weights are untouched.

    /usr/bin/python3 scripts/detector/input_pad.py models/spd-detector [--out DIR]
"""
import os

import onnx

from graph_edit import detector_args, prune_unused, write_detector

INPUT_PAD = -2.0  # as train_detector.py


def main():
    args, out, meta = detector_args()
    if 'pad' in meta['input']:
        print(f'{args.dir}: already takes padded input (pad {meta["input"]["pad"]})')
        return
    pool = meta.get('training', {}).get('pool', 1)
    if pool <= 1:
        raise SystemExit(f'{args.dir}: not a pooled model (training.pool {pool}): its graph has no input mask to drop')
    model = onnx.load(os.path.join(args.dir, meta['file']))
    g = model.graph
    pools = [n for n in g.node if n.op_type == 'MaxPool']
    if len(pools) != 1:
        raise SystemExit(f'expected one MaxPool, found {len(pools)}')
    before = len(g.node)
    pools[0].input[0] = meta['input']['name']
    prune_unused(g)

    def update(m):
        m['input']['pad'] = INPUT_PAD
        m['input']['layout'] = m['input']['layout'].replace('padding values ignored', 'padding cells = pad (below every similarity: the graph max-pools the input first)')

    path, size = write_detector(model, meta, args.dir, out, update)
    print(f'{path}: {before} -> {len(g.node)} nodes, {size} bytes, input.pad {INPUT_PAD}')


if __name__ == '__main__':
    main()
