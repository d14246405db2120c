"""Shared steps of the scripts that edit an exported SPD detector graph without retraining (input_pad.py,
lean_channels.py): dropping the nodes nothing reads any more, and writing the model with its meta.json
(sha256 and size of the new file) and card next to it."""
import argparse
import hashlib
import json
import os
import shutil

import onnx


def detector_args():
    """The command line both scripts take: a detector directory and an optional --out. Returns (args, out, meta)."""
    ap = argparse.ArgumentParser()
    ap.add_argument('dir', help='a detector directory (model.onnx + meta.json)')
    ap.add_argument('--out', help='write here instead of in place')
    args = ap.parse_args()
    with open(os.path.join(args.dir, 'meta.json')) as f:
        meta = json.load(f)
    return args, args.out or args.dir, meta


def prune_unused(graph):
    """Removes the nodes whose outputs no node and no graph output reads, until none is left."""
    outputs = {o.name for o in graph.output}
    while True:
        used = {i for n in graph.node for i in n.input} | outputs
        keep = [n for n in graph.node if any(o in used for o in n.output)]
        if len(keep) == len(graph.node):
            return
        del graph.node[:]
        graph.node.extend(keep)


def write_detector(model, meta, src_dir, out, update_meta):
    """Checks and saves the model as out/meta['file'], records its sha256 and size in meta, lets update_meta(meta)
    set the rest, writes out/meta.json and copies the card when writing elsewhere. Returns (path, bytes)."""
    onnx.checker.check_model(model)
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, meta['file'])
    onnx.save(model, path)
    with open(path, 'rb') as f:
        blob = f.read()
    meta['sha256'] = hashlib.sha256(blob).hexdigest()
    meta['bytes'] = len(blob)
    update_meta(meta)
    with open(os.path.join(out, 'meta.json'), 'w') as f:
        json.dump(meta, f, indent=1)
        f.write('\n')
    if out != src_dir and os.path.exists(os.path.join(src_dir, 'card.md')):
        shutil.copy(os.path.join(src_dir, 'card.md'), os.path.join(out, 'card.md'))
    return path, len(blob)
