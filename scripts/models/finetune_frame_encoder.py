#!/usr/bin/python3
"""SSCD-style fine-tuning of the frame encoder's MobileNetV2 backbone (Pizzi et al., CVPR 2022, "A
Self-Supervised Descriptor for Image Copy Detection"): contrastive InfoNCE / NT-Xent loss with in-batch
negatives (temperature 0.05) + KoLeo entropy regulariser, GeM pooling, linear projection to 256,
L2-normalised output, trained on copy-augmented views. The network is the project's border-crop
front-end + MobileNetV2 (`mnv2-bc.onnx`); the front part up to a cut point (default block_12_add, the
14x14 stage) stays frozen and is precomputed once with onnxruntime-node for every training view; the
tail (blocks 13-16 + Conv_1, 1.5 M weights) and the projection are trained in torch. The result is ONE
ONNX graph with the shipped model's interface (`pixels` NHWC 0..255 -> `embedding` [N,256] L2,
`feature_map` [N,1280,7,7]). Run everything with (about 1-2 h on 2 shared cores):

    bash scripts/models/train-frame-models.sh --only mnv2bc-ft256

which runs, with DATA=.cache/frame-ft (the steps are skipped when their output exists):

    /usr/bin/python3 scripts/models/finetune_frame_encoder.py views --data DATA --seed 1
    /usr/bin/python3 scripts/models/finetune_frame_encoder.py cut .cache/bench/models/mnv2-bc.onnx DATA/cut.onnx
    node --import tsx scripts/models/backbone-features.ts DATA/views.u8 DATA/cut.f32 --model DATA/cut.onnx --output block_12_add
    /usr/bin/python3 scripts/models/finetune_frame_encoder.py verify --data DATA     # torch backbone == onnxruntime
    /usr/bin/python3 scripts/models/finetune_frame_encoder.py train --data DATA --out .cache/bench/models/mnv2bc-ft256.onnx --seed 1
    /usr/bin/python3 scripts/models/finetune_frame_encoder.py fused --data DATA --backbone .cache/bench/models/mnv2bc-ft256.onnx --out .cache/bench/models/mnv2bc-ftfused-lw256.onnx

views: training bases = frames of the TRAIN-side dev clips (bench/frames/split.json via
  frame_views.train_clips, 2 fps, <= 40 per clip) + several random crops of every Debian photo
  (frame_views.image_files: opencv-doc, mate-backgrounds, plasma-workspace-wallpapers; plus the
  python3-skimage sample photos); per base view 0 = the clean frame squashed to 224x224 and V-1 copies
  made with frame_views.Aug (1-3 of crop, flip, colour, text, logo, watermark, letterbox/pillarbox/
  shrink-pad, PiP over another base, blur, noise, grayscale+noise, rotation, low resolution + JPEG;
  crops and rotations drawn more often), the copy generator's 640x360 black padding (p 0.9), squash.
train: pairs of two different views of the same base (one of them the clean view half of the time),
  NT-Xent over the 2B embeddings + KoLeo; 10 % of the bases held out: recall@1 of their copies among
  all clean views is printed during training and the best step is kept.
fused: the fine-tuned backbone's GeM fused with the flip-invariant luma thumbnail + closed-form
  learned whitening to 256 (the shipped model's head, train_frame_models.py), on the views of the
  first 1,200 bases (thumbnails of the border-cropped views by a torch twin of the graph's crop).
Deterministic for a given seed up to float summation order across thread counts.
"""

import argparse
import json
import math
import multiprocessing as mp
import os
import random
import sys
import time

import numpy as np
import onnx
import onnx.utils
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import frame_views as fv  # noqa: E402
import train_frame_models as tfm  # noqa: E402
from onnx_mnv2_torch import OnnxMobileNetV2  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
BASE = os.path.join(REPO, "models", "mobilenetv2-imagenet", "model.onnx")
BC = os.path.join(REPO, ".cache", "bench", "models", "mnv2-bc.onnx")
SIZE = 224
CUT_SHAPES = {"block_12_add": (96, 14, 14), "block_13_project_BN": (160, 7, 7), "block_9_add": (64, 14, 14), "block_5_add": (32, 28, 28)}
SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"
SKIMAGE_PHOTOS = ["astronaut.png", "brick.png", "camera.png", "chelsea.png", "coffee.png", "coins.png", "grass.png", "gravel.png",
                  "hubble_deep_field.jpg", "ihc.png", "motorcycle_left.png", "retina.jpg", "rocket.jpg"]


# ----------------------------------------------------------------------------------------------
# training views


class FtAug(fv.Aug):
    """frame_views' copy augmentations with crops and rotations drawn more often (the weak families
    of the shipped model)."""
    FAMILIES = fv.Aug.FAMILIES
    #          crop flip color text logo wm  lbox pip blur noise gray rot lowres
    WEIGHTS = [3.0, 1, 1, 1, 0.5, 0.5, 1.5, 1.5, 1.5, 1.2, 1.5, 2.0, 1.5]


_BASES = None


def _render(args):
    b, views, seed = args
    rng = random.Random(seed * 1_000_003 + b)
    aug = FtAug(rng, _BASES)
    aug.nrng = np.random.default_rng(seed * 1_000_003 + b)
    im = _BASES[b]
    out = [fv.squash(im)]
    fams = [[]]
    for _ in range(views - 1):
        arr, f = aug.view(im)
        out.append(arr)
        fams.append(f)
    return b, np.stack(out), fams


def cmd_views(a):
    global _BASES
    os.makedirs(a.data, exist_ok=True)
    rng = random.Random(a.seed)
    bases, origins = [], []
    t0 = time.time()
    for f in fv.train_clips():
        frames = fv.decode_fitted(os.path.join(fv.DEV, f), 2)
        idx = np.linspace(0, len(frames) - 1, min(len(frames), a.per_source)).round().astype(int) if frames else []
        for i in sorted(set(int(i) for i in idx)):
            bases.append(frames[i])
            origins.append(f"{f}@{i / 2:.1f}s")
    n_video = len(bases)
    files = fv.image_files() + [os.path.join(SKIMAGE, f) for f in SKIMAGE_PHOTOS if os.path.exists(os.path.join(SKIMAGE, f))]
    for p in files:
        try:
            im = fv.Image.open(p).convert("RGB")
        except Exception:
            continue
        if min(im.size) < 64:
            continue
        im.thumbnail((1600, 1600))
        for c in range(a.crops_per_image):
            if c == 0:
                x, y, w, h = 0, 0, im.width, im.height
            else:  # random crops (scale 0.3-0.8, aspect 0.6-1.9): distinct bases from one large photo
                s = rng.uniform(0.3, 0.8)
                asp = rng.uniform(0.6, 1.9)
                w = int(min(im.width, im.width * s * math.sqrt(asp)))
                h = int(min(im.height, im.height * s / math.sqrt(asp)))
                x, y = rng.randint(0, im.width - w), rng.randint(0, im.height - h)
            if w < 64 or h < 64:
                continue
            bases.append(fv.fit(im.crop((x, y, x + w, y + h))))
            origins.append(f"{p}#crop{c}:{x},{y},{w}x{h}")
    print(f"views: {len(bases)} bases ({n_video} video frames, {len(bases) - n_video} crops of {len(files)} images) in {time.time() - t0:.0f}s; "
          f"{a.views} views each", flush=True)
    _BASES = bases
    n = len(bases) * a.views
    tmp = os.path.join(a.data, "views.u8.tmp")
    mm = np.lib.format.open_memmap(tmp + ".npy", mode="w+", dtype=np.uint8, shape=(n, SIZE, SIZE, 3))
    meta = [None] * n
    with mp.get_context("fork").Pool(a.workers) as pool:
        for k, (b, arr, fams) in enumerate(pool.imap_unordered(_render, [(b, a.views, a.seed) for b in range(len(bases))], chunksize=8)):
            mm[b * a.views:(b + 1) * a.views] = arr
            for v, f in enumerate(fams):
                meta[b * a.views + v] = {"base": b, "augs": f}
            if (k + 1) % 500 == 0:
                print(f"  {k + 1}/{len(bases)} bases ({time.time() - t0:.0f}s)", flush=True)
    mm.flush()
    del mm
    # raw u8 file (the format backbone-features.ts reads): strip the .npy header
    arr = np.load(tmp + ".npy", mmap_mode="r")
    with open(tmp, "wb") as fh:
        for i in range(0, n, 1024):
            fh.write(np.ascontiguousarray(arr[i:i + 1024]).tobytes())
    del arr
    os.remove(tmp + ".npy")
    os.replace(tmp, os.path.join(a.data, "views.u8"))
    json.dump({"seed": a.seed, "views_per_base": a.views, "bases": origins, "n_video_bases": n_video, "views": meta},
              open(os.path.join(a.data, "views.json"), "w"))
    print(f"views: wrote {n} views to {a.data}/views.u8 in {time.time() - t0:.0f}s")


def cmd_cut(a):
    """The frozen front part (border crop + backbone up to --at) as its own graph for onnxruntime."""
    onnx.utils.extract_model(a.src, a.out, ["pixels"], [a.at])
    print(f"cut: wrote {a.out} (pixels -> {a.at})")


# ----------------------------------------------------------------------------------------------
# model


class Encoder(torch.nn.Module):
    """backbone tail (from `start`, or the whole network from pixels) -> GeM -> linear -> L2."""

    def __init__(self, start, dim=256, p=3.0, onnx_path=BASE):
        super().__init__()
        self.backbone = OnnxMobileNetV2(onnx_path, start=start)
        self.p = p
        self.proj = torch.nn.Linear(1280, dim)

    def gem(self, fm):
        return fm.clamp(min=1e-6).pow(self.p).mean(dim=(2, 3)).pow(1.0 / self.p)

    def forward(self, x):
        fm = self.backbone(x)
        return F.normalize(self.proj(F.normalize(self.gem(fm), dim=1)), dim=1), fm


class Full(torch.nn.Module):
    """Export wrapper: pixels [N,224,224,3] 0..255 -> (embedding, feature_map)."""

    def __init__(self, enc):
        super().__init__()
        self.enc = enc

    def forward(self, pixels):
        e, fm = self.enc(pixels)
        return e, fm


def load_meta(data):
    meta = json.load(open(os.path.join(data, "views.json")))
    V = meta["views_per_base"]
    nb = len(meta["views"]) // V
    return meta, V, nb


def open_cut(data, cut, n):
    c, h, w = CUT_SHAPES[cut]
    return np.memmap(os.path.join(data, "cut.f32"), dtype=np.float32, mode="r", shape=(n, c, h, w))


def koleo(z):
    with torch.no_grad():
        d = z @ z.T
        d.fill_diagonal_(-2)
        nn = d.argmax(1)
    return -torch.log((z - z[nn]).norm(dim=1) + 1e-8).mean()


def cmd_verify(a):
    """torch (OnnxMobileNetV2 from the ONNX initializers) vs onnxruntime-node on real training views:
    the full network's feature map and GAP, and the tail from the cached cut tensor."""
    torch.set_num_threads(2)
    meta, V, nb = load_meta(a.data)
    n = len(meta["views"])
    k = 48
    pix = np.fromfile(os.path.join(a.data, "views.u8"), dtype=np.uint8, count=k * SIZE * SIZE * 3).reshape(k, SIZE, SIZE, 3)
    sub = os.path.join(a.data, "verify.u8")
    pix.tofile(sub)
    import subprocess
    ref = os.path.join(a.data, "verify-fm.f32")
    subprocess.run(["node", "--import", "tsx", os.path.join(HERE, "backbone-features.ts"), sub, ref, "--model", BASE], check=True, cwd=REPO)
    fm_ort = np.fromfile(ref, dtype=np.float32).reshape(k, 1280, 7, 7)
    net = OnnxMobileNetV2(BASE).eval()
    with torch.no_grad():
        fm = net(torch.from_numpy(pix.astype(np.float32))).numpy()
    cos = lambda x, y: (x * y).sum(1) / np.linalg.norm(x, axis=1) / np.linalg.norm(y, axis=1)
    c_map = cos(fm.reshape(k, -1), fm_ort.reshape(k, -1))
    c_gap = cos(fm.mean((2, 3)), fm_ort.mean((2, 3)))
    print(f"verify: full backbone torch vs onnxruntime on {k} views: feature-map cosine min {c_map.min():.6f}, GAP cosine min {c_gap.min():.6f}, "
          f"max |diff| {np.abs(fm - fm_ort).max():.2e}")
    # the tail from the onnxruntime cut tensor vs the border-crop backbone's feature map
    bc_ref = os.path.join(a.data, "verify-fm-bc.f32")
    subprocess.run(["node", "--import", "tsx", os.path.join(HERE, "backbone-features.ts"), sub, bc_ref, "--model", BC], check=True, cwd=REPO)
    fm_bc = np.fromfile(bc_ref, dtype=np.float32).reshape(k, 1280, 7, 7)
    cut = open_cut(a.data, a.cut, n)
    tail = OnnxMobileNetV2(BASE, start=a.cut).eval()
    with torch.no_grad():
        fm_t = tail(torch.from_numpy(np.array(cut[:k]))).numpy()
    c_tail = cos(fm_t.reshape(k, -1), fm_bc.reshape(k, -1))
    print(f"verify: tail from {a.cut} (torch) vs border-crop backbone (onnxruntime): feature-map cosine min {c_tail.min():.6f}, max |diff| {np.abs(fm_t - fm_bc).max():.2e}")
    ok = c_map.min() >= 0.9999 and c_gap.min() >= 0.9999 and c_tail.min() >= 0.9999
    json.dump({"views": k, "fm_cos_min": float(c_map.min()), "gap_cos_min": float(c_gap.min()), "tail_cos_min": float(c_tail.min())},
              open(os.path.join(a.data, "verify.json"), "w"))
    if not ok:
        sys.exit("verify: FAILED (cosine < 0.9999)")
    print("verify: ok")


def pooled(enc, cut, idx, bs=128):
    out = []
    with torch.no_grad():
        for i in range(0, len(idx), bs):
            x = torch.from_numpy(np.array(cut[np.sort(idx[i:i + bs])]))
            order = np.argsort(np.argsort(idx[i:i + bs]))
            out.append(F.normalize(enc.gem(enc.backbone(x)), dim=1)[torch.from_numpy(order)])
    return torch.cat(out)


def cmd_train(a):
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    rng = np.random.default_rng(a.seed)
    meta, V, nb = load_meta(a.data)
    n = len(meta["views"])
    cut = open_cut(a.data, a.cut, n)
    perm = rng.permutation(nb)
    val_b = np.sort(perm[: nb // 10])
    tr_b = np.sort(perm[nb // 10:])
    enc = Encoder(a.cut, a.dim, a.gem_p)
    trainable = enc.backbone.conv_keys_after(a.train_from) if a.train_from else list(enc.backbone.convs.keys())
    for k, m in enc.backbone.convs.items():
        m.requires_grad_(k in trainable)
    n_tr = sum(p.numel() for p in enc.backbone.parameters() if p.requires_grad)
    t0 = time.time()
    # projection initialised with the closed-form learned whitening of the pretrained GeM vectors
    # (train bases, view 0 clean vs its copies); SSCD uses a random init, this one starts where the
    # shipped model's head starts
    if a.init == "lw":
        enc.eval()
        idx = np.concatenate([np.arange(b * V, b * V + V) for b in tr_b[: a.lw_bases]])
        feats = pooled(enc, cut, idx)
        W, bias = tfm.learned_whitening(feats, V, np.arange(len(idx) // V), a.dim, 0.1)
        with torch.no_grad():
            enc.proj.weight.copy_(torch.from_numpy(W.T))
            enc.proj.bias.copy_(torch.from_numpy(bias))
        print(f"train: projection initialised by learned whitening on {len(idx)} views ({time.time() - t0:.0f}s)", flush=True)
    val_q = np.concatenate([b * V + rng.choice(np.arange(1, V), size=min(a.val_views, V - 1), replace=False) for b in val_b])

    def evaluate():
        enc.eval()
        with torch.no_grad():
            db_idx = np.concatenate([val_b * V, tr_b * V])  # every clean view; held-out ones first
            emb = lambda idx: torch.cat([enc(torch.from_numpy(np.array(cut[np.sort(idx[i:i + 128])])))[0][torch.from_numpy(np.argsort(np.argsort(idx[i:i + 128])))]
                                         for i in range(0, len(idx), 128)])
            db = emb(db_idx)
            q = emb(val_q)
            s = q @ db.T
            top = s.argmax(1).numpy()
            want = np.searchsorted(val_b, val_q // V)
            r1 = float((top == want).mean())
            # also: is the right clean view in the top 10
            r10 = float((s.topk(10, dim=1).indices.numpy() == want[:, None]).any(1).mean())
        enc.train()
        return r1, r10

    params = [{"params": [p for p in enc.backbone.parameters() if p.requires_grad], "lr": a.lr_backbone},
              {"params": enc.proj.parameters(), "lr": a.lr_head}]
    opt = torch.optim.AdamW(params, weight_decay=a.wd)
    warm = max(1, a.steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / a.steps))))
    r1, r10 = evaluate()
    print(f"train: {len(tr_b)} train / {len(val_b)} held-out bases, {V} views each; tail from {a.cut}, {n_tr} trainable backbone weights "
          f"({len(trainable)} convs); step 0: held-out R@1 {r1:.3f} R@10 {r10:.3f} ({time.time() - t0:.0f}s)", flush=True)
    best = (r1, 0, {k: v.clone() for k, v in enc.state_dict().items()})
    hist = [{"step": 0, "r1": r1, "r10": r10}]
    B = a.batch
    enc.train()
    tl = time.time()
    losses = []
    for step in range(1, a.steps + 1):
        bs = rng.choice(tr_b, size=B, replace=False)
        va = np.where(rng.random(B) < 0.5, 0, rng.integers(1, V, B))
        vb = rng.integers(1, V, B)
        vb = np.where(vb == va, (vb % (V - 1)) + 1, vb)
        idx = np.concatenate([bs * V + va, bs * V + vb])
        order = np.argsort(idx)
        x = torch.from_numpy(np.array(cut[idx[order]]))[torch.from_numpy(np.argsort(order))]
        z, _ = enc(x)
        sim = z @ z.T / a.tau
        sim.fill_diagonal_(-1e9)
        target = torch.cat([torch.arange(B, 2 * B), torch.arange(0, B)])
        l_nce = F.cross_entropy(sim, target)
        l_ko = koleo(z)
        loss = l_nce + a.koleo * l_ko
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append((l_nce.item(), l_ko.item()))
        if step % 20 == 0:
            ln = np.mean(losses[-20:], 0)
            print(f"  step {step}: infonce {ln[0]:.3f} koleo {ln[1]:.3f}  ({(time.time() - tl) / step:.2f} s/step, {time.time() - t0:.0f}s)", flush=True)
        if step % a.eval_every == 0 or step == a.steps:
            r1, r10 = evaluate()
            hist.append({"step": step, "r1": r1, "r10": r10, "infonce": float(np.mean([l[0] for l in losses[-a.eval_every:]]))})
            if r1 >= best[0]:
                best = (r1, step, {k: v.clone() for k, v in enc.state_dict().items()})
            print(f"  step {step}: held-out R@1 {r1:.3f} R@10 {r10:.3f} (best {best[0]:.3f} @ {best[1]})", flush=True)
            torch.save({"state": best[2], "step": best[1], "r1": best[0], "args": vars(a)}, a.out + ".pt")
        if a.minutes and time.time() - t0 > a.minutes * 60:
            print(f"train: time budget of {a.minutes} min reached at step {step}", flush=True)
            r1, r10 = evaluate()
            hist.append({"step": step, "r1": r1, "r10": r10})
            if r1 >= best[0]:
                best = (r1, step, {k: v.clone() for k, v in enc.state_dict().items()})
            break
    enc.load_state_dict(best[2])
    secs = time.time() - t0
    print(f"train: keeping step {best[1]} (held-out R@1 {best[0]:.3f}); {secs:.0f}s", flush=True)
    torch.save({"state": best[2], "step": best[1], "r1": best[0], "args": vars(a)}, a.out + ".pt")
    export(enc, a, f"vidtrace frame encoder: border crop + MobileNetV2 fine-tuned SSCD-style (InfoNCE tau {a.tau} + KoLeo {a.koleo}, "
                    f"tail from {a.cut}, step {best[1]}, seed {a.seed}) + GeM p={a.gem_p:g} + linear {a.dim}, held-out R@1 {best[0]:.3f}")
    info = {k: v for k, v in vars(a).items() if k != "func"}
    info.update({"kept_step": best[1], "heldout_r1": best[0], "history": hist, "train_seconds": round(secs), "bases": nb, "views_per_base": V,
                 "trainable_backbone_weights": n_tr})
    json.dump(info, open(a.out + ".train.json", "w"), indent=1)


def export(enc, a, doc):
    """Full network from pixels (the tuned tail's weights copied into the whole ONNX backbone) -> ONNX
    opset 17 -> border-crop front-end prepended by graph surgery (train_frame_models.add_border_crop)."""
    full = Encoder(None, a.dim, a.gem_p)
    sd = {k: v for k, v in enc.state_dict().items()}
    missing = full.load_state_dict(sd, strict=False)
    assert not missing.unexpected_keys, missing.unexpected_keys
    # the frozen front convs are the pretrained ones in both
    full.eval()
    tmp = a.out + ".nobc.onnx"
    x = torch.rand(2, SIZE, SIZE, 3) * 255
    torch.onnx.export(Full(full), (x,), tmp, input_names=["pixels"], output_names=["embedding", "feature_map"],
                      dynamic_axes={"pixels": {0: "N"}, "embedding": {0: "N"}, "feature_map": {0: "N"}}, opset_version=17, do_constant_folding=True)
    # name the backbone's last activation `out_relu` as in the base graph (feature_map = Identity of it),
    # so scripts/models/extract_head.py can cut heads off this graph for the bench's shared backbone pass
    m = onnx.load(tmp)
    for node in m.graph.node:
        node.output[:] = ["out_relu" if o == "feature_map" else o for o in node.output]
        node.input[:] = ["out_relu" if i == "feature_map" else i for i in node.input]
    m.graph.node.append(onnx.helper.make_node("Identity", ["out_relu"], ["feature_map"], name="feature_map_identity"))
    onnx.save(m, tmp)
    tfm.add_border_crop(tmp, a.out)
    m = onnx.load(a.out)
    m.doc_string = doc
    onnx.save(m, a.out)
    os.remove(tmp)
    crop_only = a.out.replace(".onnx", "-crop.onnx")
    if os.path.exists(crop_only):
        os.remove(crop_only)
    print(f"export: wrote {a.out} ({os.path.getsize(a.out)} bytes)")


def cmd_export(a):
    """Re-export the kept checkpoint (OUT.pt written by train) to OUT."""
    ck = torch.load(a.out + ".pt")
    args = argparse.Namespace(**ck["args"])
    args.out = a.out
    enc = Encoder(args.cut, args.dim, args.gem_p)
    enc.load_state_dict(ck["state"])
    export(enc, args, f"vidtrace frame encoder: border crop + MobileNetV2 fine-tuned SSCD-style (InfoNCE tau {args.tau} + KoLeo {args.koleo}, "
                      f"tail from {args.cut}, step {ck['step']}, seed {args.seed}) + GeM p={args.gem_p:g} + linear {args.dim}, held-out R@1 {ck['r1']:.3f}")


def cmd_check(a):
    """The exported graph (onnxruntime-node) vs the torch model on the same border-cropped pixels."""
    import subprocess
    torch.set_num_threads(2)
    k = 48
    d = a.data
    pix = np.fromfile(os.path.join(d, "views.u8"), dtype=np.uint8, count=k * SIZE * SIZE * 3)
    sub = os.path.join(d, "check.u8")
    pix.tofile(sub)
    ck = torch.load(a.model + ".pt")
    args = ck["args"]
    enc = Encoder(None, args["dim"], args["gem_p"])
    enc.load_state_dict(ck["state"], strict=False)
    enc.eval()
    emb_f, crop_f = os.path.join(d, "check-emb.f32"), os.path.join(d, "check-crop.f32")
    subprocess.run(["node", "--import", "tsx", os.path.join(HERE, "backbone-features.ts"), sub, emb_f, "--model", a.model, "--output", "embedding"], check=True, cwd=REPO)
    subprocess.run(["node", "--import", "tsx", os.path.join(HERE, "backbone-features.ts"), sub, crop_f, "--model", BC.replace(".onnx", "-crop.onnx"),
                    "--output", "pixels_cropped"], check=True, cwd=REPO)
    e_ort = np.fromfile(emb_f, dtype=np.float32).reshape(k, -1)
    crop = np.fromfile(crop_f, dtype=np.float32).reshape(k, SIZE, SIZE, 3)
    with torch.no_grad():
        e_t, fm = enc(torch.from_numpy(crop))
        e_t = e_t.numpy()
    with torch.no_grad():
        crop_t = border_crop_torch(torch.from_numpy(pix.reshape(k, SIZE, SIZE, 3).astype(np.float32))).numpy()
    print(f"check: border crop torch twin vs onnxruntime: max |diff| {np.abs(crop_t - crop).max():.3f} (0..255), mean {np.abs(crop_t - crop).mean():.4f}")
    if a.fused:  # the fused head: GeM of the tuned map + thumbnail of the cropped frame, learned whitening
        h = np.load(a.fused + ".head.npz")
        ts = float(h["thumb_scale"])
        x = F.normalize(enc.gem(fm), dim=1).numpy()
        if ts > 0:
            x = np.concatenate([x, tfm.l2n(tfm.thumb_features_np(crop)) * ts], 1)
        e_t = tfm.l2n(x @ h["W"] + h["b"])
        emb_f2 = os.path.join(d, "check-emb-fused.f32")
        subprocess.run(["node", "--import", "tsx", os.path.join(HERE, "backbone-features.ts"), sub, emb_f2, "--model", a.fused, "--output", "embedding"], check=True, cwd=REPO)
        e_ort = np.fromfile(emb_f2, dtype=np.float32).reshape(k, -1)
        a.model = a.fused
    cos = (e_ort * e_t).sum(1)
    print(f"check: {os.path.basename(a.model)} onnxruntime vs torch on {k} views: cosine min {cos.min():.6f}, max |diff| {np.abs(e_ort - e_t).max():.2e}")
    if cos.min() < 0.9999:
        sys.exit("check: FAILED")


def border_crop_torch(x, passes=tfm.BORDER_PASSES, t=tfm.BORDER_T, cap=tfm.BORDER_MAX):
    """torch twin of train_frame_models.add_border_crop (the graph's front-end) on float pixels
    [N,224,224,3]: bars = edge rows/columns whose channel-mean range is <= t, 1 px inset, at most
    `cap` per side, bilinear GridSample (align_corners 0, border padding); `passes` times."""
    n = x.shape[0]
    tt = (torch.arange(SIZE, dtype=torch.float32) + 0.5) / SIZE

    def edges(rng_):
        content = (rng_ > t).float()
        lo = content.argmax(1).float()  # first maximum, like ONNX ArgMax (all-flat: 0)
        hi = SIZE - content.flip(1).argmax(1).float()
        lo = torch.clamp(lo + 1, max=cap * SIZE)
        hi = torch.clamp(hi - 1, min=(1 - cap) * SIZE)
        a, b = lo * 2 / SIZE - 1, hi * 2 / SIZE - 1
        return a[:, None] + (b - a)[:, None] * tt[None]

    for _ in range(passes):
        g = x.mean(3)
        ys = edges(g.amax(2) - g.amin(2))
        xs = edges(g.amax(1) - g.amin(1))
        grid = torch.stack([xs[:, None, :].expand(n, SIZE, SIZE), ys[:, :, None].expand(n, SIZE, SIZE)], -1)
        x = F.grid_sample(x.permute(0, 3, 1, 2), grid, mode="bilinear", padding_mode="border", align_corners=False).permute(0, 2, 3, 1)
    return x


def cmd_fused(a):
    """The fine-tuned backbone's GeM fused with the flip-invariant luma thumbnail + closed-form learned
    whitening to 256 (the shipped model's head, train_frame_models.py) -> ONE graph on top of the
    fine-tuned export. GeM of every view comes from the tuned tail in torch on the cached cut tensor
    (same numbers as the exported graph, see check); the thumbnail from DATA/views-bc.u8 (the
    border-cropped views, onnxruntime)."""
    torch.set_num_threads(2)
    t0 = time.time()
    meta, V, nb = load_meta(a.data)
    n = len(meta["views"])
    ck = torch.load(a.backbone + ".pt")
    args = ck["args"]
    enc = Encoder(args["cut"], args["dim"], args["gem_p"])
    enc.load_state_dict(ck["state"])
    enc.eval()
    cut = open_cut(a.data, args["cut"], n)
    # the views of the first --bases bases; their border-cropped pixels for the thumbnail by the torch
    # twin of the graph's front-end (onnxruntime's GridSample pass is slow on this machine)
    n_use = min(nb, a.bases) * V
    pix = np.memmap(os.path.join(a.data, "views.u8"), dtype=np.uint8, mode="r").reshape(-1, SIZE, SIZE, 3)
    cache = os.path.join(a.data, f"pooled-{os.path.basename(a.backbone)}-{ck['step']}-{n_use}.npz")  # shared by the head variants
    if os.path.exists(cache):
        z = np.load(cache)
        gem, thumbs = torch.from_numpy(z["gem"]), torch.from_numpy(z["thumbs"])
    else:
        gem = pooled(enc, cut, np.arange(n_use))
        with torch.no_grad():
            thumbs = torch.from_numpy(np.concatenate([tfm.thumb_features_np(border_crop_torch(torch.from_numpy(pix[i:min(i + 256, n_use)].astype(np.float32))).numpy())
                                                      for i in range(0, n_use, 256)]))
        np.savez(cache, gem=gem.numpy(), thumbs=thumbs.numpy())
    feats = torch.cat([gem, F.normalize(thumbs, dim=1) * a.thumb_scale], 1) if a.thumb_scale > 0 else gem
    print(f"fused: {n_use} views pooled in {time.time() - t0:.0f}s", flush=True)
    rng = np.random.default_rng(args["seed"])  # the same held-out split as train
    perm = rng.permutation(nb)
    val_b, tr_b = np.sort(perm[: nb // 10]), np.sort(perm[nb // 10:])
    nb = n_use // V
    val_b, tr_b = val_b[val_b < nb], tr_b[tr_b < nb]
    W, b = tfm.learned_whitening(feats, V, tr_b, 256, 0.1)
    X = feats.numpy()
    emb = lambda idx: tfm.l2n(X[idx] @ W + b)
    val_q = np.concatenate([bb * V + np.arange(1, V) for bb in val_b])
    db = emb(np.concatenate([val_b * V, tr_b * V]))
    top = (emb(val_q) @ db.T).argmax(1)
    r1 = float((top == np.searchsorted(val_b, val_q // V)).mean())
    print(f"fused: learned whitening on {len(tr_b)} bases; held-out R@1 {r1:.3f} (all {V - 1} copies of {len(val_b)} held-out bases vs {nb} clean views)")
    tfm.ARGS_BACKBONE[0] = a.backbone
    tfm.export_linear(W, b, args["gem_p"], a.thumb_scale > 0, a.thumb_scale, a.out,
                      f"vidtrace frame encoder: {os.path.basename(a.backbone)} (SSCD-style fine-tuned MobileNetV2 tail) + GeM p={args['gem_p']:g} "
                      + (f"+ luma thumbnail x {a.thumb_scale:g} (fused)" if a.thumb_scale > 0 else "") + f" + learned whitening 256, held-out R@1 {r1:.3f}")
    np.savez(a.out + ".head.npz", W=W, b=b, thumb_scale=a.thumb_scale)
    json.dump({"backbone": os.path.basename(a.backbone), "thumb_scale": a.thumb_scale, "heldout_r1": r1, "views": n_use, "bases": nb, "seconds": round(time.time() - t0)},
              open(a.out + ".train.json", "w"), indent=1)


def main():
    ap = argparse.ArgumentParser()
    sp = ap.add_subparsers(dest="cmd", required=True)
    v = sp.add_parser("views")
    v.add_argument("--data", required=True)
    v.add_argument("--views", type=int, default=10)
    v.add_argument("--seed", type=int, default=1)
    v.add_argument("--per-source", type=int, default=40)
    v.add_argument("--crops-per-image", type=int, default=5)
    v.add_argument("--workers", type=int, default=2)
    c = sp.add_parser("cut")
    c.add_argument("src")
    c.add_argument("out")
    c.add_argument("--at", default="block_12_add")
    r = sp.add_parser("verify")
    r.add_argument("--data", required=True)
    r.add_argument("--cut", default="block_12_add")
    t = sp.add_parser("train")
    t.add_argument("--data", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--cut", default="block_12_add", help="the precomputed (frozen) tensor the tail starts from")
    t.add_argument("--train-from", default=None, help="also freeze the tail's convs up to this tensor (default: train the whole tail)")
    t.add_argument("--dim", type=int, default=256)
    t.add_argument("--gem-p", type=float, default=3.0)
    t.add_argument("--steps", type=int, default=700)
    t.add_argument("--minutes", type=float, default=0, help="stop early after this much time (0: no limit)")
    t.add_argument("--batch", type=int, default=64, help="bases per step (2 views each)")
    t.add_argument("--lr-backbone", type=float, default=1e-4)
    t.add_argument("--lr-head", type=float, default=5e-4)
    t.add_argument("--wd", type=float, default=1e-4)
    t.add_argument("--tau", type=float, default=0.05)
    t.add_argument("--koleo", type=float, default=1.0)
    t.add_argument("--init", choices=["lw", "random"], default="lw")
    t.add_argument("--lw-bases", type=int, default=600)
    t.add_argument("--val-views", type=int, default=3)
    t.add_argument("--eval-every", type=int, default=175)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--seed", type=int, default=1)
    e = sp.add_parser("export")
    e.add_argument("--out", required=True)
    k = sp.add_parser("check")
    k.add_argument("--data", required=True)
    k.add_argument("--model", required=True)
    k.add_argument("--fused", default=None, help="check this fused-head graph built on --model instead")
    f = sp.add_parser("fused")
    f.add_argument("--data", required=True)
    f.add_argument("--backbone", required=True)
    f.add_argument("--out", required=True)
    f.add_argument("--thumb-scale", type=float, default=0.5, help="weight of the L2 thumbnail next to the L2 GeM (0: GeM only)")
    f.add_argument("--bases", type=int, default=1200, help="learn the whitening on the views of the first N bases")
    f.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    {"views": cmd_views, "cut": cmd_cut, "verify": cmd_verify, "train": cmd_train, "check": cmd_check, "fused": cmd_fused, "export": cmd_export}[a.cmd](a)


if __name__ == "__main__":
    main()
