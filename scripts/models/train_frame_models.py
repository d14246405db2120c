#!/usr/bin/python3
"""Learns the frame-feature candidates on top of the frozen MobileNetV2 backbone and writes each as
ONE ONNX graph (front-end + backbone + pooling + whitening/head) with the backbone's input (`pixels`
[N,224,224,3] float 0..255, NHWC RGB) and outputs `embedding` (L2-normalised) and `feature_map`.
Run by scripts/models/train-frame-models.sh (one command for everything); inputs in --data:
views.u8 + views.json (frame_views.py) and feature maps [N,1280,7,7] of every view made by
onnxruntime-node (backbone-features.ts) with the same backbone graph.

    /usr/bin/python3 scripts/models/train_frame_models.py bordercrop BASE.onnx OUT.onnx
    /usr/bin/python3 scripts/models/train_frame_models.py frontend   BASE.onnx OUT.onnx [5]
    /usr/bin/python3 scripts/models/train_frame_models.py resize     IN299.onnx OUT.onnx
    /usr/bin/python3 scripts/models/train_frame_models.py pcaw|rmac --out F.onnx [--dim 256]
    /usr/bin/python3 scripts/models/train_frame_models.py head --out F.onnx [--method lw|sgd]
        [--variant gem|fused] [--backbone G.onnx --maps maps-x.f32 --pixels views-x.u8] [--seed 1]

bordercrop: prepends letterbox/pillarbox removal (2 passes, GridSample) to the backbone graph;
frontend:   the same + grayscale + box low-pass; resize: 224 input resized to the model's size.
pcaw: L2(GAP) -> centre -> PCA to --dim -> whitening (eigenvalues shrunk) -> L2, clean views.
rmac: max-pooled regions of the 7x7 map (1 full, 2x2 of 5x5, 3x3 of 3x3 = 14 regions) -> L2 ->
      PCA-whitening learned on regional vectors of the clean views -> L2 -> sum -> L2.
head: GeM (p=3) [fused: + flip-invariant 32x32 luma thumbnail of the front-end's output] ->
      linear to --dim -> L2. --method lw: closed-form learned whitening from (clean, copy) view
      pairs (Radenovic et al. 2018); --method sgd: SSCD-style InfoNCE (temperature 0.05) + KoLeo on
      pairs of views of the same base (one of them the clean view half of the time), initialised
      from lw and early-stopped on 10 % held-out bases.
Deterministic for a given seed (a rebuild is byte-identical).
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import onnx
import onnx.utils
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BACKBONE = os.path.join(REPO, "models", "mobilenetv2-imagenet", "model.onnx")
ARGS_BACKBONE = [BACKBONE]
C, S = 1280, 7
REGIONS = [(7, 1), (5, 2), (3, 2)]  # (kernel, stride) max-pools over the 7x7 map -> 1 + 4 + 9 regions
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def load(data, maps_file="maps.f32"):
    meta = json.load(open(os.path.join(data, "views.json")))
    n = len(meta["views"])
    maps = np.memmap(os.path.join(data, maps_file), dtype=np.float32, mode="r", shape=(n, C, S, S))
    base = np.array([v["base"] for v in meta["views"]], dtype=np.int64)
    clean = np.array([not v["augs"] for v in meta["views"]])
    return meta, maps, base, clean


def l2n(x, axis=-1):
    return x / np.maximum(np.linalg.norm(x, axis=axis, keepdims=True), 1e-12)


def pca_whiten(x, dim, shrink=0.1):
    """x: [n, d] (rows L2-normalised). Returns mean [d], projection [d, dim] (PCA + whitening).
    Eigenvalues are shrunk towards their mean (lambda + shrink * mean(lambda_top)) so that the
    smallest kept components are not blown up."""
    mu = x.mean(0)
    xc = (x - mu).astype(np.float64)
    cov = xc.T @ xc / len(x)
    lam, vec = np.linalg.eigh(cov)
    order = np.argsort(lam)[::-1][:dim]
    lam, vec = lam[order], vec[:, order]
    lam = lam + shrink * lam.mean()
    return mu.astype(np.float32), (vec / np.sqrt(lam)).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# ONNX graph building on top of the backbone


class Graph:
    def __init__(self):
        self.model = onnx.load(ARGS_BACKBONE[0])
        self.pixels = "pixels_cropped" if any(o == "pixels_cropped" for n in self.model.graph.node for o in n.output) else "pixels"
        g = self.model.graph
        # the backbone's GAP output becomes internal ("gap"); our head writes "embedding"
        for node in g.node:
            for i, o in enumerate(node.output):
                if o == "embedding":
                    node.output[i] = "gap"
        self.nodes, self.inits = [], []
        self.k = 0

    def const(self, arr, name=None):
        name = name or f"head_c{self.k}"
        self.k += 1
        self.inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def op(self, op_type, inputs, **attrs):
        out = f"head_t{self.k}"
        self.k += 1
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def l2(self, x, axis):
        n = self.op("ReduceL2", [x], axes=[axis], keepdims=1)
        n = self.op("Max", [n, self.const(np.array(1e-12, dtype=np.float32))])
        return self.op("Div", [x, n])

    def save(self, out_name, path, doc):
        g = self.model.graph
        self.nodes.append(helper.make_node("Identity", [out_name], ["embedding"], name="head_output"))
        g.node.extend(self.nodes)
        g.initializer.extend(self.inits)
        dim = None
        outs = [o for o in g.output if o.name == "feature_map"]
        del g.output[:]
        self.model.doc_string = doc
        g.output.extend([helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", self.dim]), *outs])
        onnx.checker.check_model(self.model)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        onnx.save(self.model, path)
        print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def export_pcaw(mu, P, path, doc):
    g = Graph()
    g.dim = P.shape[1]
    x = g.l2("gap", 1)
    x = g.op("Sub", [x, g.const(mu)])
    x = g.op("MatMul", [x, g.const(P)])
    g.save(g.l2(x, 1), path, doc)


def rmac_regions_np(maps):
    """maps [n, C, 7, 7] -> [n, R, C] regional max."""
    t = torch.from_numpy(np.ascontiguousarray(maps))
    outs = []
    for k, s in REGIONS:
        r = F.max_pool2d(t, k, s)  # [n, C, a, a]
        outs.append(r.flatten(2).transpose(1, 2))
    return torch.cat(outs, 1).numpy()


def export_rmac(mu, P, path, doc):
    g = Graph()
    g.dim = P.shape[1]
    regs = []
    for k, s in REGIONS:
        r = g.op("MaxPool", ["feature_map"], kernel_shape=[k, k], strides=[s, s])  # [N,C,a,a]
        r = g.op("Reshape", [r, g.const(np.array([0, C, -1], dtype=np.int64))])  # [N,C,a*a]
        regs.append(r)
    r = g.op("Concat", regs, axis=2)  # [N,C,R]
    r = g.op("Transpose", [r], perm=[0, 2, 1])  # [N,R,C]
    r = g.l2(r, 2)
    r = g.op("Sub", [r, g.const(mu)])
    r = g.op("MatMul", [r, g.const(P)])  # [N,R,dim]
    r = g.l2(r, 2)
    r = g.op("ReduceSum", [r, g.const(np.array([1], dtype=np.int64))], keepdims=0)
    g.save(g.l2(r, 1), path, doc)


# ----------------------------------------------------------------------------------------------
# SSCD-style head


def thumb_features_np(pix):
    """pix uint8 [n,224,224,3] -> flip-invariant luma thumbnail features [n, 1024] (float32)."""
    y = pix.astype(np.float32) @ LUMA  # [n,224,224]
    t = y.reshape(len(pix), 32, 7, 32, 7).mean(axis=(2, 4))  # 7x7 average pool -> 32x32
    t = t.reshape(len(pix), -1)
    t = (t - t.mean(1, keepdims=True)) / np.sqrt(((t - t.mean(1, keepdims=True)) ** 2).mean(1, keepdims=True) + 1.0)
    t = t.reshape(len(pix), 32, 32)
    f = t[:, :, ::-1]
    sym = (t + f)[:, :, :16] * 0.5
    anti = np.abs(t - f)[:, :, :16] * 0.5
    return np.concatenate([sym.reshape(len(pix), -1), anti.reshape(len(pix), -1)], 1).astype(np.float32)


def export_thumb(g):
    """ONNX version of thumb_features_np on the graph input `pixels`."""
    y = g.op("MatMul", [g.pixels, g.const(LUMA.reshape(3, 1))])  # [N,224,224,1]
    y = g.op("Transpose", [y], perm=[0, 3, 1, 2])  # [N,1,224,224]
    t = g.op("AveragePool", [y], kernel_shape=[7, 7], strides=[7, 7])  # [N,1,32,32]
    flat = g.op("Flatten", [t], axis=1)
    m = g.op("ReduceMean", [flat], axes=[1], keepdims=1)
    c = g.op("Sub", [flat, m])
    v = g.op("ReduceMean", [g.op("Mul", [c, c])], axes=[1], keepdims=1)
    sd = g.op("Sqrt", [g.op("Add", [v, g.const(np.array(1.0, dtype=np.float32))])])
    z = g.op("Reshape", [g.op("Div", [c, sd]), g.const(np.array([-1, 32, 32], dtype=np.int64))])  # [N,32,32]
    fz = g.op("Slice", [z, g.const(np.array([-1], dtype=np.int64)), g.const(np.array([-(2**62)], dtype=np.int64)),
                        g.const(np.array([2], dtype=np.int64)), g.const(np.array([-1], dtype=np.int64))])
    half = lambda x: g.op("Slice", [x, g.const(np.array([0], dtype=np.int64)), g.const(np.array([16], dtype=np.int64)),
                                   g.const(np.array([2], dtype=np.int64))])
    sym = g.op("Mul", [half(g.op("Add", [z, fz])), g.const(np.array(0.5, dtype=np.float32))])
    anti = g.op("Mul", [half(g.op("Abs", [g.op("Sub", [z, fz])])), g.const(np.array(0.5, dtype=np.float32))])
    sym = g.op("Reshape", [sym, g.const(np.array([0, -1], dtype=np.int64))])
    anti = g.op("Reshape", [anti, g.const(np.array([0, -1], dtype=np.int64))])
    return g.op("Concat", [sym, anti], axis=1)  # [N,1024]


class Head(torch.nn.Module):
    """Linear projection of the (precomputed) L2-normalised GeM vector [+ scaled thumbnail features]."""

    def __init__(self, dim, fused, p=3.0, thumb_scale=0.5):
        super().__init__()
        self.fused = fused
        self.p = p
        self.thumb_scale = thumb_scale
        din = C + (1024 if fused else 0)
        self.proj = torch.nn.Linear(din, dim)

    def forward(self, x):
        return F.normalize(self.proj(x), dim=1)


def pooled_inputs(maps, p, thumbs=None, thumb_scale=0.5, chunk=256):
    """GeM(p) of every view's map, L2-normalised [n, C] (+ L2(thumb) * thumb_scale)."""
    out = []
    for i in range(0, len(maps), chunk):
        t = torch.from_numpy(np.array(maps[i:i + chunk]))
        out.append(F.normalize(t.clamp(min=1e-6).pow(p).mean(dim=(2, 3)).pow(1.0 / p), dim=1))
    x = torch.cat(out)
    if thumbs is not None:
        x = torch.cat([x, F.normalize(thumbs, dim=1) * thumb_scale], 1)
    return x


def export_head(head, path, doc):
    export_linear(head.proj.weight.detach().numpy().T, head.proj.bias.detach().numpy(), head.p, head.fused, head.thumb_scale, path, doc)


def export_linear(W, b, p, fused, thumb_scale, path, doc):
    g = Graph()
    g.dim = W.shape[1]
    x = g.op("Clip", ["feature_map", g.const(np.array(1e-6, dtype=np.float32))])
    x = g.op("Pow", [x, g.const(np.array(p, dtype=np.float32))])
    x = g.op("GlobalAveragePool", [x])
    x = g.op("Pow", [x, g.const(np.array(1.0 / p, dtype=np.float32))])
    x = g.op("Flatten", [x], axis=1)
    x = g.l2(x, 1)
    if fused:
        th = g.l2(export_thumb(g), 1)
        th = g.op("Mul", [th, g.const(np.array(thumb_scale, dtype=np.float32))])
        x = g.op("Concat", [x, th], axis=1)
    x = g.op("Add", [g.op("MatMul", [x, g.const(np.asarray(W, dtype=np.float32))]), g.const(np.asarray(b, dtype=np.float32))])
    g.save(g.l2(x, 1), path, doc)


def learned_whitening(feats, V, tr_bases, dim, shrink):
    """Radenovic et al. 'Lw': whiten the within-pair covariance (clean view vs. its augmented views),
    then PCA of the whitened clean views. Returns (W [D, dim], b [dim]) for y = x W + b."""
    X = feats.numpy().astype(np.float64)
    clean = X[tr_bases * V]
    aug_idx = np.concatenate([np.arange(b * V + 1, b * V + V) for b in tr_bases])
    diff = X[aug_idx] - np.repeat(clean, V - 1, axis=0)
    cs = diff.T @ diff / len(diff)
    lam, vec = np.linalg.eigh(cs)
    lam = np.maximum(lam, 0) + shrink * lam.mean()
    P1 = vec / np.sqrt(lam)  # cs^-1/2 (up to rotation)
    mu = clean.mean(0)
    xw = (clean - mu) @ P1
    cd = xw.T @ xw / len(xw)
    lam2, vec2 = np.linalg.eigh(cd)
    order = np.argsort(lam2)[::-1][:dim]
    P = P1 @ vec2[:, order]
    return P.astype(np.float32), (-mu @ P).astype(np.float32)


def koleo(z):
    with torch.no_grad():
        d = z @ z.T
        d.fill_diagonal_(-2)
        nn = d.argmax(1)
    dist = (z - z[nn]).norm(dim=1)
    return -torch.log(dist + 1e-8).mean()


def train_head(args, meta, maps, base, clean):
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    nb = int(base.max()) + 1
    V = meta["views_per_base"]
    t0 = time.time()
    thumbs = None
    if args.variant == "fused":
        pix = np.memmap(os.path.join(args.data, args.pixels), dtype=np.uint8, mode="r").reshape(-1, 224, 224, 3)
        thumbs = torch.from_numpy(np.concatenate([thumb_features_np(np.asarray(pix[i:i + 512])) for i in range(0, len(pix), 512)]))
    head = Head(args.dim, args.variant == "fused", p=args.gem_p)
    feats = pooled_inputs(maps, head.p, thumbs, head.thumb_scale)
    print(f"head: pooled {len(feats)} views of {nb} bases in {time.time() - t0:.0f}s", flush=True)
    # hold out 10% of the bases to watch retrieval (view -> clean frame) during training
    perm = rng.permutation(nb)
    val_bases = np.sort(perm[: nb // 10])
    tr_bases = np.sort(perm[nb // 10:])
    views_of = lambda b: np.arange(b * V, b * V + V)  # views are stored base-major, view 0 clean

    opt = torch.optim.AdamW(head.parameters(), lr=args.lr, weight_decay=args.wd)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.steps, pct_start=0.1)
    tau = 0.05

    def embed(idx):
        return head(feats[idx])

    def val_acc():
        head.eval()
        with torch.no_grad():
            vb = val_bases
            db = embed(torch.from_numpy(vb * V))  # clean views
            q_idx = np.concatenate([views_of(b)[1:] for b in vb])
            q = embed(torch.from_numpy(q_idx))
            # also put the train bases' clean views in the database as distractors
            dd = embed(torch.from_numpy(tr_bases * V))
            sims = q @ torch.cat([db, dd]).T
            top = sims.argmax(1).numpy()
            want = np.repeat(np.arange(len(vb)), V - 1)
        head.train()
        return float((top == want).mean())

    if args.method == "lw" or args.init == "lw":
        W, b = learned_whitening(feats, V, tr_bases, args.dim, args.shrink)
        with torch.no_grad():
            head.proj.weight.copy_(torch.from_numpy(W.T))
            head.proj.bias.copy_(torch.from_numpy(b))
        acc = val_acc()
        print(f"head: learned whitening (shrink {args.shrink}) variant={args.variant} dim={args.dim}: val@1={acc:.3f}", flush=True)
        if args.method == "lw":
            return head, acc, time.time() - t0
    print(f"head: variant={args.variant} dim={args.dim} steps={args.steps} batch={args.batch} val@1(before)={val_acc():.3f}", flush=True)
    best = (val_acc(), 0, {k: v.clone() for k, v in head.state_dict().items()})
    for step in range(1, args.steps + 1):
        bs = rng.choice(tr_bases, size=args.batch, replace=False)
        a = np.where(rng.random(args.batch) < 0.5, bs * V, bs * V + rng.integers(1, V, args.batch))
        off = rng.integers(1, V, args.batch)
        b = bs * V + off
        b = np.where(b == a, bs * V + (off % (V - 1)) + 1, b)
        z = embed(torch.from_numpy(np.concatenate([a, b])))
        n = args.batch
        sim = z @ z.T / tau
        sim.fill_diagonal_(-1e9)
        target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
        loss = F.cross_entropy(sim, target) + args.koleo * koleo(z)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % args.eval_every == 0 or step == args.steps:
            acc = val_acc()
            if acc > best[0]:
                best = (acc, step, {k: v.clone() for k, v in head.state_dict().items()})
            print(f"  step {step}: loss {loss.item():.3f}  val@1={acc:.3f}  ({time.time() - t0:.0f}s)", flush=True)
    # early stopping on the held-out train-side bases
    head.load_state_dict(best[2])
    print(f"head: keeping step {best[1]} (val@1 {best[0]:.3f})", flush=True)
    return head, best[0], time.time() - t0


BORDER_T = 10.0  # a row/column whose (channel-mean) value range is <= this is a bar
BORDER_PASSES = 2  # nested bars (e.g. coloured letterbox inside black padding) need a second pass
BORDER_MAX = 0.45  # never crop more than this fraction from one side


def add_border_crop(src, out, gray=False, lowpass=0):
    """Prepends border (letterbox/pillarbox) removal to a backbone graph on `pixels` [N,224,224,3]:
    rows/columns at the edges whose value range is <= BORDER_T are bars; the remaining box (at most
    BORDER_MAX cut per side) is resampled to 224x224 with GridSample (bilinear), per frame."""
    m = onnx.load(src)
    g = m.graph
    H = W = 224
    for node in g.node:
        for i, x in enumerate(node.input):
            if x == "pixels":
                node.input[i] = "pixels_cropped"
    nodes, inits = [], []
    k = [0]

    def c(arr):
        name = f"bc_c{k[0]}"
        k[0] += 1
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def op(t, ins, out=None, **a):
        out = out or f"bc_t{k[0]}"
        k[0] += 1
        nodes.append(helper.make_node(t, ins, [out], name=out, **a))
        return out

    def edges(gray, axis_reduce, n):
        rng_ = op("Sub", [op("ReduceMax", [gray], axes=[axis_reduce], keepdims=0), op("ReduceMin", [gray], axes=[axis_reduce], keepdims=0)])  # [N,n]
        content = op("Cast", [op("Greater", [rng_, c(np.array(BORDER_T, dtype=np.float32))])], to=TensorProto.FLOAT)
        first = op("ArgMax", [content], axis=1, keepdims=1)  # [N,1] int64
        rev = op("Slice", [content, c(np.array([-1], dtype=np.int64)), c(np.array([-(2**62)], dtype=np.int64)), c(np.array([1], dtype=np.int64)), c(np.array([-1], dtype=np.int64))])
        last_rev = op("ArgMax", [rev], axis=1, keepdims=1)
        lo = op("Cast", [first], to=TensorProto.FLOAT)
        hi = op("Sub", [c(np.array(float(n), dtype=np.float32)), op("Cast", [last_rev], to=TensorProto.FLOAT)])  # exclusive end
        # 1 px inset: resampling must not blend the bar into the content edge (the next pass would
        # then see a non-uniform bar)
        lo = op("Min", [op("Add", [lo, c(np.array(1.0, dtype=np.float32))]), c(np.array(BORDER_MAX * n, dtype=np.float32))])
        hi = op("Max", [op("Sub", [hi, c(np.array(1.0, dtype=np.float32))]), c(np.array((1 - BORDER_MAX) * n, dtype=np.float32))])
        # normalised edges (align_corners=0): pixel edge e -> 2e/n - 1
        a = op("Sub", [op("Mul", [lo, c(np.array(2.0 / n, dtype=np.float32))]), c(np.array(1.0, dtype=np.float32))])
        b = op("Sub", [op("Mul", [hi, c(np.array(2.0 / n, dtype=np.float32))]), c(np.array(1.0, dtype=np.float32))])
        t = c(((np.arange(224, dtype=np.float32) + 0.5) / 224).reshape(1, 224))
        return op("Add", [a, op("Mul", [op("Sub", [b, a]), t])])  # [N,224]

    def crop_pass(x, out=None):
        gray = op("ReduceMean", [x], axes=[3], keepdims=0)  # [N,H,W]
        ys = edges(gray, 2, H)  # per-row range (reduce over width) -> top/bottom
        xs = edges(gray, 1, W)  # per-column range (reduce over height) -> left/right
        zeros = c(np.zeros((1, 224, 224), dtype=np.float32))
        gx = op("Add", [op("Unsqueeze", [xs, c(np.array([1], dtype=np.int64))]), zeros])  # [N,224,224] x varies on last axis
        gy = op("Add", [op("Unsqueeze", [ys, c(np.array([2], dtype=np.int64))]), zeros])
        grid = op("Concat", [op("Unsqueeze", [gx, c(np.array([3], dtype=np.int64))]), op("Unsqueeze", [gy, c(np.array([3], dtype=np.int64))])], axis=3)
        nchw = op("Transpose", [x], perm=[0, 3, 1, 2])
        samp = op("GridSample", [nchw, grid], mode="bilinear", padding_mode="border", align_corners=0)
        return op("Transpose", [samp], out=out, perm=[0, 2, 3, 1])

    x = "pixels"
    for i in range(BORDER_PASSES):
        x = crop_pass(x, "pixels_cropped" if i == BORDER_PASSES - 1 and not (gray or lowpass) else None)
    if gray or lowpass:
        # canonical front-end: luma replicated to RGB (colour-invariant) and/or a box low-pass (noise,
        # blur and compression artefacts shrink towards the same smooth image)
        y = op("MatMul", [x, c(np.repeat(LUMA.reshape(3, 1), 3, axis=1))]) if gray else x  # [N,224,224,3]
        if lowpass:
            t = op("Transpose", [y], perm=[0, 3, 1, 2])
            pad = lowpass // 2
            t = op("AveragePool", [t], kernel_shape=[lowpass, lowpass], strides=[1, 1], pads=[pad, pad, pad, pad], count_include_pad=0)
            op("Transpose", [t], out="pixels_cropped", perm=[0, 2, 3, 1])
        else:
            op("Identity", [y], out="pixels_cropped")
    for n in reversed(nodes):
        g.node.insert(0, n)
    g.initializer.extend(inits)
    m.doc_string = (m.doc_string or "") + " + border (letterbox/pillarbox) crop in the graph"
    onnx.checker.check_model(m)
    onnx.save(m, out)
    # the crop alone (pixels -> pixels_cropped), to precompute cropped training views
    crop_only = out.replace(".onnx", "-crop.onnx")
    m.graph.output.append(helper.make_tensor_value_info("pixels_cropped", TensorProto.FLOAT, ["N", 224, 224, 3]))
    onnx.save(m, crop_only + ".tmp")
    onnx.utils.extract_model(crop_only + ".tmp", crop_only, ["pixels"], ["pixels_cropped"])
    os.remove(crop_only + ".tmp")
    print(f"wrote {out}: border crop (range <= {BORDER_T}, at most {BORDER_MAX:.0%} per side){' + gray' if gray else ''}{f' + box{lowpass}' if lowpass else ''} + {os.path.basename(src)}")


def wrap_resize(src, out, size_in=224):
    """Prepends a bilinear Resize (size_in -> the model's input size) on the NHWC `pixels` input."""
    m = onnx.load(src)
    g = m.graph
    inp = g.input[0]
    size_out = inp.type.tensor_type.shape.dim[1].dim_value
    old = inp.name
    for node in g.node:
        for i, x in enumerate(node.input):
            if x == old:
                node.input[i] = "pixels_resized"
    roi = numpy_helper.from_array(np.zeros(0, dtype=np.float32), "resize_roi")
    scales = numpy_helper.from_array(np.array([1.0, size_out / size_in, size_out / size_in, 1.0], dtype=np.float32), "resize_scales")
    g.initializer.extend([roi, scales])
    g.node.insert(0, helper.make_node("Resize", [old, "resize_roi", "resize_scales"], ["pixels_resized"], name="input_resize",
                                      mode="linear", coordinate_transformation_mode="half_pixel"))
    del g.input[:]
    g.input.extend([helper.make_tensor_value_info(old, TensorProto.FLOAT, ["N", size_in, size_in, 3])])
    onnx.checker.check_model(m)
    onnx.save(m, out)
    print(f"wrote {out}: {size_in}x{size_in} input resized to {size_out}x{size_out} in the graph")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "resize":
        wrap_resize(sys.argv[2], sys.argv[3])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "bordercrop":
        add_border_crop(sys.argv[2], sys.argv[3])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "frontend":  # bordercrop + grayscale + box low-pass
        add_border_crop(sys.argv[2], sys.argv[3], gray=True, lowpass=int(sys.argv[4]) if len(sys.argv) > 4 else 5)
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["pcaw", "rmac", "head"])
    ap.add_argument("--data", default=os.path.join(REPO, ".cache", "frame-train"))
    ap.add_argument("--backbone", default=BACKBONE, help="backbone graph the head is appended to (must match the maps)")
    ap.add_argument("--maps", default="maps.f32", help="feature-map file in --data")
    ap.add_argument("--pixels", default="views.u8", help="frames the thumbnail branch sees (views-bc.u8 = border-cropped views)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--variant", choices=["gem", "fused"], default="gem")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--wd", type=float, default=1e-4)
    ap.add_argument("--koleo", type=float, default=0.1)
    ap.add_argument("--gem-p", type=float, default=3.0)
    ap.add_argument("--method", choices=["sgd", "lw"], default="sgd", help="sgd: InfoNCE training; lw: closed-form learned whitening from the same pairs")
    ap.add_argument("--shrink", type=float, default=0.1)
    ap.add_argument("--init", choices=["random", "lw"], default="lw", help="sgd: start from the learned-whitening solution")
    ap.add_argument("--eval-every", type=int, default=25)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    ARGS_BACKBONE[0] = args.backbone
    torch.set_num_threads(2)
    meta, maps, base, clean = load(args.data, args.maps)
    started = time.time()
    if args.what == "pcaw":
        x = l2n(np.asarray(maps[clean]).mean(axis=(2, 3)))
        mu, P = pca_whiten(x, args.dim)
        export_pcaw(mu, P, args.out, f"vidtrace MobileNetV2 GAP + PCA-whitening {args.dim} (learned on {len(x)} clean train views)")
    elif args.what == "rmac":
        r = rmac_regions_np(np.asarray(maps[clean]))  # [n,14,C]
        x = l2n(r.reshape(-1, C))
        mu, P = pca_whiten(x, args.dim)
        export_rmac(mu, P, args.out, f"vidtrace MobileNetV2 R-MAC (14 regions) + PCA-whitening {args.dim} (learned on {len(x)} regional vectors)")
    else:
        head, acc, secs = train_head(args, meta, maps, base, clean)
        how = "learned whitening (closed form)" if args.method == "lw" else f"InfoNCE head, {args.steps} steps, init {args.init}"
        export_head(head, args.out, f"vidtrace frame encoder: {os.path.basename(args.backbone)} + GeM p={args.gem_p:g}{' + luma thumbnail' if args.variant == 'fused' else ''} + {how}, {args.dim}-d, seed {args.seed}, held-out train-side val@1 {acc:.3f}")
        info = {"method": args.method, "variant": args.variant, "backbone": os.path.basename(args.backbone), "dim": args.dim, "gem_p": args.gem_p,
                "shrink": args.shrink, "seed": args.seed, "val_at1_heldout_train_side": round(acc, 4), "train_seconds": round(secs, 1),
                "views": len(meta["views"]), "bases": len(meta["bases"]), "views_per_base": meta["views_per_base"]}
        if args.method == "sgd":
            info.update({"steps": args.steps, "batch": args.batch, "lr": args.lr, "wd": args.wd, "koleo": args.koleo, "init": args.init, "temperature": 0.05})
        json.dump(info, open(args.out + ".train.json", "w"), indent=1)
    print(f"{args.what}: done in {time.time() - started:.0f}s")


if __name__ == "__main__":
    main()
