/** Synthetic 1-fps frame sequences for the view tests (no ffmpeg): moving textures, insets, bars, captions. */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Frame } from "../decode/frames.js";
import { boxIou, detectInsets, InsetTracker, type InsetBox } from "./inset.js";

const SIZE = 224;

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A large RGB texture: two octaves of value noise plus random discs and blocks (hard edges). */
class Texture {
  readonly size = 640;
  readonly rgb: Uint8Array;
  constructor(seed: number) {
    const r = rng(seed);
    const n = this.size;
    const f = new Float32Array(n * n * 3);
    for (const [cell, amp] of [
      [48, 0.6],
      [12, 0.4],
    ] as const) {
      const g = Math.ceil(n / cell) + 2;
      const grid = Float32Array.from({ length: g * g * 3 }, () => r());
      for (let y = 0; y < n; y++) {
        const gy = y / cell;
        const y0 = Math.floor(gy);
        const fy = gy - y0;
        for (let x = 0; x < n; x++) {
          const gx = x / cell;
          const x0 = Math.floor(gx);
          const fx = gx - x0;
          for (let c = 0; c < 3; c++) {
            const v = (i: number, j: number) => grid[((j * g) + i) * 3 + c];
            const top = v(x0, y0) * (1 - fx) + v(x0 + 1, y0) * fx;
            const bot = v(x0, y0 + 1) * (1 - fx) + v(x0 + 1, y0 + 1) * fx;
            f[(y * n + x) * 3 + c] += amp * (top * (1 - fy) + bot * fy);
          }
        }
      }
    }
    this.rgb = new Uint8Array(n * n * 3);
    for (let i = 0; i < f.length; i++) this.rgb[i] = Math.max(0, Math.min(255, Math.round(f[i] * 255)));
    // hard-edged shapes: discs and axis-aligned blocks, so the content itself has straight lines
    for (let k = 0; k < 40; k++) {
      const cx = r() * n;
      const cy = r() * n;
      const rad = 8 + r() * 40;
      const col = [r() * 255, r() * 255, r() * 255];
      const block = k % 2 === 0;
      for (let y = Math.max(0, Math.floor(cy - rad)); y < Math.min(n, cy + rad); y++) {
        for (let x = Math.max(0, Math.floor(cx - rad)); x < Math.min(n, cx + rad); x++) {
          if (!block && (x - cx) ** 2 + (y - cy) ** 2 > rad * rad) continue;
          for (let c = 0; c < 3; c++) this.rgb[(y * n + x) * 3 + c] = col[c];
        }
      }
    }
  }
  /** RGB at (x, y), wrapping around. */
  at(x: number, y: number, c: number): number {
    const n = this.size;
    const xi = ((Math.floor(x) % n) + n) % n;
    const yi = ((Math.floor(y) % n) + n) % n;
    return this.rgb[(yi * n + xi) * 3 + c];
  }
}

interface Scene {
  /** Background texture and its per-frame offset (moves ≥ 25 px a frame). */
  background: Texture;
  /** Inset rectangle in px of the 224×224 frame, with its own moving texture. */
  inset?: { x: number; y: number; w: number; h: number; texture: Texture; border?: { px: number; py: number; rgb: [number, number, number] } };
  /** Flat bars: top/bottom (letterbox) or left/right (pillarbox) of this many px; `pad` = all four sides. */
  bars?: { top?: number; bottom?: number; left?: number; right?: number; rgb?: [number, number, number] };
  /** A static box (caption / logo) drawn on top, px. */
  caption?: { x: number; y: number; w: number; h: number };
  /** Static background (no motion) instead of a moving one. */
  still?: boolean;
  noise?: number;
}

function renderScene(scene: Scene, frames: number, seed = 1): Frame[] {
  const r = rng(seed);
  const out: Frame[] = [];
  for (let t = 0; t < frames; t++) {
    const ox = scene.still ? 0 : r() * 640;
    const oy = scene.still ? 0 : r() * 640;
    const ix = r() * 640;
    const iy = r() * 640;
    const rgb = new Uint8Array(SIZE * SIZE * 3);
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        const p = (y * SIZE + x) * 3;
        let px = [0, 1, 2].map((c) => scene.background.at(x + ox, y + oy, c));
        const ins = scene.inset;
        if (ins && x >= ins.x && x < ins.x + ins.w && y >= ins.y && y < ins.y + ins.h) {
          const b = ins.border;
          const inBorder = b && (x < ins.x + b.px || x >= ins.x + ins.w - b.px || y < ins.y + b.py || y >= ins.y + ins.h - b.py);
          // the inset is a shrunk picture: sample its texture at 2x
          px = inBorder ? [...b!.rgb] : [0, 1, 2].map((c) => ins.texture.at((x - ins.x) * 2 + ix, (y - ins.y) * 2 + iy, c));
        }
        const bars = scene.bars;
        if (bars) {
          if (y < (bars.top ?? 0) || y >= SIZE - (bars.bottom ?? 0) || x < (bars.left ?? 0) || x >= SIZE - (bars.right ?? 0)) px = [...(bars.rgb ?? [0, 0, 0])];
        }
        const cap = scene.caption;
        if (cap && x >= cap.x && x < cap.x + cap.w && y >= cap.y && y < cap.y + cap.h) {
          // dark box with a static "text" pattern
          const text = ((x >> 2) + (y >> 3)) % 3 === 0 && y > cap.y + 3 && y < cap.y + cap.h - 3 && x > cap.x + 3 && x < cap.x + cap.w - 3;
          px = text ? [255, 255, 255] : [20, 20, 60];
        }
        for (let c = 0; c < 3; c++) {
          const n = scene.noise ? (r() - 0.5) * 2 * scene.noise : 0;
          rgb[p + c] = Math.max(0, Math.min(255, Math.round(px[c] + n)));
        }
      }
    }
    out.push({ index: t, time: t, width: SIZE, height: SIZE, rgb });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

const N = 6;
const bg = new Texture(11);
const other = new Texture(23);
const frac = (r: { x: number; y: number; w: number; h: number }) => ({ x: r.x / SIZE, y: r.y / SIZE, w: r.w / SIZE, h: r.h / SIZE });

function assertFound(boxes: (InsetBox | null)[], truth: { x: number; y: number; w: number; h: number }, minFrames = boxes.length): void {
  const t = frac(truth);
  const good = boxes.filter((b) => b && boxIou(b, t) >= 0.8).length;
  assert.ok(good >= minFrames, `${good}/${boxes.length} frames with IoU ≥ 0.8; got ${JSON.stringify(boxes.map((b) => b && { ...b, iou: boxIou(b, t) }))}`);
}

function assertNone(boxes: (InsetBox | null)[]): void {
  assert.deepEqual(boxes.map((b) => (b ? JSON.stringify(b) : null)), boxes.map(() => null));
}

test('inset of other moving content over a moving background: found in every frame', () => {
  for (const [k, rect] of [
    { x: 60, y: 40, w: 112, h: 120 },
    { x: 10, y: 120, w: 90, h: 96 }, // near the left and bottom borders
    { x: 150, y: 4, w: 70, h: 70 },
  ].entries()) {
    const frames = renderScene({ background: bg, inset: { ...rect, texture: other }, noise: 3 }, N, 100 + k);
    assertFound(detectInsets(frames), rect);
  }
});

test('inset with a 2x4 px white / black / yellow frame: found', () => {
  const colours: [number, number, number][] = [
    [255, 255, 255],
    [0, 0, 0],
    [255, 255, 0],
  ];
  colours.forEach((rgb, k) => {
    const rect = { x: 40 + 30 * k, y: 70, w: 118, h: 122 };
    const frames = renderScene({ background: bg, inset: { ...rect, texture: other, border: { px: 2, py: 4, rgb } }, noise: 3 }, N, 200 + k);
    assertFound(detectInsets(frames), rect);
  });
});

test('an inset only over part of the sequence: found there, not before (short segment of 3 frames)', () => {
  const rect = { x: 70, y: 50, w: 100, h: 110 };
  const plain = renderScene({ background: bg, noise: 3 }, 4, 300);
  const pip = renderScene({ background: bg, inset: { ...rect, texture: other }, noise: 3 }, 3, 301);
  const after = renderScene({ background: other, noise: 3 }, 3, 302);
  const boxes = detectInsets([...plain, ...pip, ...after].map((f, i) => ({ ...f, index: i, time: i })));
  assertNone(boxes.slice(0, 4));
  assertFound(boxes.slice(4, 7), rect);
  assertNone(boxes.slice(7));
});

test('no inset: moving textures, letterbox, pillarbox, shrink-pad, a static caption box, noise only', () => {
  assertNone(detectInsets(renderScene({ background: bg, noise: 3 }, N, 400)));
  assertNone(detectInsets(renderScene({ background: other, noise: 3 }, N, 401)));
  assertNone(detectInsets(renderScene({ background: bg, bars: { top: 28, bottom: 28 }, noise: 3 }, N, 402)));
  assertNone(detectInsets(renderScene({ background: bg, bars: { left: 28, right: 28 }, noise: 3 }, N, 403)));
  assertNone(detectInsets(renderScene({ background: bg, bars: { left: 30, right: 40, top: 25, bottom: 20, rgb: [128, 128, 128] }, noise: 2 }, N, 404)));
  assertNone(detectInsets(renderScene({ background: bg, caption: { x: 20, y: 170, w: 150, h: 30 }, noise: 3 }, N, 405)));
  assertNone(detectInsets(renderScene({ background: bg, bars: { top: 28, bottom: 28 }, caption: { x: 150, y: 40, w: 50, h: 40 }, noise: 3 }, N, 406)));
});

test('streaming tracker: same results as the batch call, at most window-1 frames of look-ahead', () => {
  const rect = { x: 50, y: 60, w: 110, h: 100 };
  const frames = renderScene({ background: bg, inset: { ...rect, texture: other }, noise: 3 }, N, 500);
  const tracker = new InsetTracker<Frame>({ window: 3 });
  const seen: number[] = [];
  const boxes: (InsetBox | null)[] = [];
  frames.forEach((f, i) => {
    for (const r of tracker.push(f)) {
      seen.push(r.item.index);
      boxes.push(r.box);
    }
    assert.ok(seen.length >= i - 1, `pending ${i + 1 - seen.length} frames after frame ${i}`);
  });
  for (const r of tracker.flush()) {
    seen.push(r.item.index);
    boxes.push(r.box);
  }
  assert.deepEqual(seen, frames.map((f) => f.index));
  assert.deepEqual(boxes, detectInsets(frames));
  // a 2-frame video still gets one window; a single frame never has an inset
  assertFound(detectInsets(frames.slice(0, 2)), rect, 1);
  assertNone(detectInsets(frames.slice(0, 1)));
});
