"""Moves a pooled SPD detector exported before 2026-12-06 to the padded-input contract, without retraining.

Those graphs masked the full-resolution input before max-pooling it (Range/Less/And/Where over every cell:
an eighth of onnxruntime's time on a 120x600 matrix). train_detector.py now exports MaxPool on the raw input
and sets meta input.pad: the caller (src/detect/spd-detector.ts, copyWindow) fills the padding with that
value, below every similarity, so it never wins a pooling block; the channels clip and mask the pooled
matrix as before. This script rewires MaxPool to the graph input, drops the nodes nothing reads any more,
and updates meta.json (input.pad, layout, sha256, bytes). The weights are untouched.

    /usr/bin/python3 scripts/detector/input_pad.py models/spd-detector [--out DIR]
"""
import argparse
import hashlib
import json
import os
import shutil

import onnx

INPUT_PAD = -2.0  # as train_detector.py


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('dir', help='a detector directory (model.onnx + meta.json)')
    ap.add_argument('--out', help='write here instead of in place')
    args = ap.parse_args()
    out = args.out or args.dir
    with open(os.path.join(args.dir, 'meta.json')) as f:
        meta = json.load(f)
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
    outputs = {o.name for o in g.output}
    while True:
        used = {i for n in g.node for i in n.input} | outputs
        keep = [n for n in g.node if any(o in used for o in n.output)]
        if len(keep) == len(g.node):
            break
        del g.node[:]
        g.node.extend(keep)
    onnx.checker.check_model(model)
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, meta['file'])
    onnx.save(model, path)
    with open(path, 'rb') as f:
        blob = f.read()
    meta['sha256'] = hashlib.sha256(blob).hexdigest()
    meta['bytes'] = len(blob)
    meta['input']['pad'] = INPUT_PAD
    meta['input']['layout'] = meta['input']['layout'].replace('padding values ignored', 'padding cells = pad (below every similarity: the graph max-pools the input first)')
    with open(os.path.join(out, 'meta.json'), 'w') as f:
        json.dump(meta, f, indent=1)
        f.write('\n')
    if out != args.dir and os.path.exists(os.path.join(args.dir, 'card.md')):
        shutil.copy(os.path.join(args.dir, 'card.md'), os.path.join(out, 'card.md'))
    print(f'{path}: {before} -> {len(g.node)} nodes, {len(blob)} bytes, input.pad {INPUT_PAD}')


if __name__ == '__main__':
    main()
