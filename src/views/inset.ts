/**
 * Picture-in-picture inset detection: finds an axis-aligned rectangle that stays still over a few
 * consecutive sampled frames while the picture inside it and the picture around it both change (a
 * library video shrunk and overlaid on unrelated footage). Pure and dependency-free.
 *
 * Per frame: oriented edge maps (max over R, G, B of a 2-px difference, smoothed along the edge,
 * clipped and scaled to 0..1): `vx` responds to vertical lines, `hy` to horizontal ones.
 * Per window of `window` consecutive frames: the per-pixel MINIMUM over the window (an edge that
 * moves, i.e. any edge of changing content, vanishes; the inset's outline stays), minus the same
 * value `offset` px to either side (a line, not a textured area). Strong vertical lines are the
 * columns with a long run of that contrast, horizontal lines likewise; pairs of columns × pairs of
 * rows (the frame borders count as sides that cannot be seen) form candidate rectangles of 25-75 %
 * of the frame per axis, scored O(1) each with prefix sums: the score is the weakest visible side's
 * mean contrast. A rectangle next to a flat bar (letterbox / pillarbox / shrink-pad padding) is
 * rejected. A frame gets the best rectangle over the windows that contain it, if its score reaches
 * the threshold; a rectangle found in one window only must reach a higher one.
 */

/** Packed RGB24 image (a decoded `Frame` fits). */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
}

/** Rectangle in fractions of the frame (x, y of the top-left corner), with its detection score. */
export interface InsetBox {
  x: number;
  y: number;
  w: number;
  h: number;
  score: number;
}

export interface InsetOptions {
  /** Frames per temporal window (the min over them is taken); default 3. */
  window?: number;
  /** Minimum score (mostly the weakest visible side's contrast, 0..1 scale) when an overlapping window finds the same rectangle; default 0.33. */
  threshold?: number;
  /** Minimum score when no overlapping window finds the same rectangle; default 0.36. */
  singleThreshold?: number;
  /** Inset size on each axis as a fraction of the frame; default 0.25..0.75. */
  minSize?: number;
  maxSize?: number;
  /** Minimum mean absolute luma change (grey levels, frame to frame) inside the rectangle or around it; default 3. */
  minChange?: number;
}

const DEFAULTS = { window: 3, threshold: 0.33, singleThreshold: 0.36, minSize: 0.25, maxSize: 0.75, minChange: 3 };

/** Edge-difference value (grey levels over 2 px) that counts as a full-strength edge. */
const CAP = 48;
/** Distance (px) of the parallel lines a side is compared with. */
const OFFSET = 4;
/** Candidate lines kept per axis. */
const CANDIDATES = 14;
/** Sides within this many px of the frame border are on the border (not visible). */
const BORDER_PX = 2;

/** Per-frame oriented edge maps, 0..1 (clipped), plus luma for the flat-bar test. */
export interface EdgeMaps {
  readonly width: number;
  readonly height: number;
  /** Vertical-line response at (x, y): |I(x+1) − I(x−1)| smoothed along y. */
  readonly vx: Float32Array;
  /** Horizontal-line response: |I(y+1) − I(y−1)| smoothed along x. */
  readonly hy: Float32Array;
  readonly luma: Float32Array;
}

export function edgeMaps(img: RgbImage): EdgeMaps {
  const { width: W, height: H, rgb } = img;
  if (rgb.length < W * H * 3) throw new RangeError(`image ${W}x${H} needs ${W * H * 3} bytes, got ${rgb.length}`);
  const n = W * H;
  const vx = new Float32Array(n);
  const hy = new Float32Array(n);
  const luma = new Float32Array(n);
  const dx = new Float32Array(n);
  const dy = new Float32Array(n);
  for (let p = 0; p < n; p++) luma[p] = 0.299 * rgb[p * 3] + 0.587 * rgb[p * 3 + 1] + 0.114 * rgb[p * 3 + 2];
  for (let c = 0; c < 3; c++) {
    // signed 2-px differences of channel c
    for (let y = 0; y < H; y++) {
      const row = y * W;
      for (let x = 0; x < W; x++) {
        const xl = x > 0 ? x - 1 : 0;
        const xr = x < W - 1 ? x + 1 : W - 1;
        dx[row + x] = rgb[(row + xr) * 3 + c] - rgb[(row + xl) * 3 + c];
        const yu = y > 0 ? y - 1 : 0;
        const yd = y < H - 1 ? y + 1 : H - 1;
        dy[row + x] = rgb[(yd * W + x) * 3 + c] - rgb[(yu * W + x) * 3 + c];
      }
    }
    // smooth along the edge ([1 2 1] / 4), abs, max over channels
    for (let y = 0; y < H; y++) {
      const yu = y > 0 ? y - 1 : 0;
      const yd = y < H - 1 ? y + 1 : H - 1;
      for (let x = 0; x < W; x++) {
        const p = y * W + x;
        const v = Math.abs(dx[yu * W + x] + 2 * dx[p] + dx[yd * W + x]) / 4;
        if (v > vx[p]) vx[p] = v;
        const xl = x > 0 ? x - 1 : 0;
        const xr = x < W - 1 ? x + 1 : W - 1;
        const h = Math.abs(dy[y * W + xl] + 2 * dy[p] + dy[y * W + xr]) / 4;
        if (h > hy[p]) hy[p] = h;
      }
    }
  }
  for (let p = 0; p < n; p++) {
    vx[p] = Math.min(vx[p], CAP) / CAP;
    hy[p] = Math.min(hy[p], CAP) / CAP;
  }
  return { width: W, height: H, vx, hy, luma };
}

interface Line {
  pos: number;
  strength: number;
}

/**
 * Line contrast of a persistent map along one axis. `along` = length of a line, `across` = number
 * of lines; value(line, t) is at index line*strideLine + t*strideT. Returns prefix sums per line
 * (across × (along+1)) of contrast = value − mean(value at line ± OFFSET).
 */
function lineContrastPrefix(map: Float32Array, across: number, along: number, strideLine: number, strideT: number): Float64Array {
  const prefix = new Float64Array(across * (along + 1));
  for (let l = 0; l < across; l++) {
    const a = l - OFFSET;
    const b = l + OFFSET;
    let acc = 0;
    const base = l * (along + 1);
    for (let t = 0; t < along; t++) {
      const v = map[l * strideLine + t * strideT];
      let s = 0;
      let k = 0;
      if (a >= 0) {
        s += map[a * strideLine + t * strideT];
        k++;
      }
      if (b < across) {
        s += map[b * strideLine + t * strideT];
        k++;
      }
      acc += v - (k ? s / k : 0);
      prefix[base + t + 1] = acc;
    }
  }
  return prefix;
}

/** Lines (columns or rows) with the strongest long contiguous run of contrast, after non-max suppression. */
function candidateLines(prefix: Float64Array, across: number, along: number, minRun: number): Line[] {
  const tau = 0.15;
  const scored: Line[] = [];
  for (let l = BORDER_PX + 1; l < across - BORDER_PX - 1; l++) {
    const base = l * (along + 1);
    // maximum-sum run of (contrast − tau) of length ≥ minRun
    let best = -Infinity;
    let minPrefix = Infinity;
    for (let t = minRun; t <= along; t++) {
      const start = t - minRun;
      const ps = prefix[base + start] - tau * start;
      if (ps < minPrefix) minPrefix = ps;
      const cur = prefix[base + t] - tau * t - minPrefix;
      if (cur > best) best = cur;
    }
    if (best > 0) scored.push({ pos: l, strength: best });
  }
  scored.sort((p, q) => q.strength - p.strength);
  const kept: Line[] = [];
  for (const c of scored) {
    if (kept.length >= CANDIDATES) break;
    if (kept.some((k) => Math.abs(k.pos - c.pos) <= 1)) continue;
    kept.push(c);
  }
  return kept;
}

interface Rect {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  score: number;
}

/**
 * True when the strip [x0, x1) × [y0, y1) is flat (luma range ≤ 14) in every given frame: padding (a letterbox /
 * pillarbox / shrink-pad bar) rather than the footage a picture-in-picture is overlaid on.
 */
function isFlat(lumas: readonly Float32Array[], W: number, x0: number, x1: number, y0: number, y1: number): boolean {
  if (x1 - x0 < 2 || y1 - y0 < 2) return false;
  for (const luma of lumas) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        const v = luma[y * W + x];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    if (hi - lo > 14) return false;
  }
  return true;
}

/** Width (px) of the ring around a rectangle whose footage must change. */
const RING = 12;

/**
 * Mean absolute luma change between consecutive frames over [x0, x1) × [y0, y1) (clipped to the frame, every
 * other pixel), leaving out `hole`. 0 for a single frame.
 */
function meanChange(
  lumas: readonly Float32Array[],
  W: number,
  H: number,
  x0: number,
  x1: number,
  y0: number,
  y1: number,
  hole: { x0: number; x1: number; y0: number; y1: number } | null,
): number {
  const xa = Math.max(0, x0);
  const xb = Math.min(W, x1);
  const ya = Math.max(0, y0);
  const yb = Math.min(H, y1);
  let sum = 0;
  let count = 0;
  for (let k = 1; k < lumas.length; k++) {
    const a = lumas[k - 1];
    const b = lumas[k];
    for (let y = ya; y < yb; y += 2) {
      const inHoleRow = hole !== null && y >= hole.y0 && y < hole.y1;
      for (let x = xa; x < xb; x += 2) {
        if (inHoleRow && x >= hole!.x0 && x < hole!.x1) continue;
        sum += Math.abs(b[y * W + x] - a[y * W + x]);
        count++;
      }
    }
  }
  return count ? sum / count : 0;
}

/** Width (px) of the strip outside a side that must not be flat. */
const STRIP = 6;

/** Best inset rectangle of one temporal window of edge maps (pixel coordinates), or null. */
export function detectInWindow(maps: readonly EdgeMaps[], options: InsetOptions = {}): Rect | null {
  const o = { ...DEFAULTS, ...options };
  if (maps.length === 0) return null;
  const { width: W, height: H } = maps[0];
  const n = W * H;
  const pv = new Float32Array(maps[0].vx);
  const ph = new Float32Array(maps[0].hy);
  for (let k = 1; k < maps.length; k++) {
    const m = maps[k];
    if (m.width !== W || m.height !== H) throw new RangeError('frames of one window differ in size');
    for (let p = 0; p < n; p++) {
      if (m.vx[p] < pv[p]) pv[p] = m.vx[p];
      if (m.hy[p] < ph[p]) ph[p] = m.hy[p];
    }
  }
  // columns: line index x (stride 1), along y (stride W); rows: line index y (stride W), along x (stride 1)
  const colP = lineContrastPrefix(pv, W, H, 1, W);
  const rowP = lineContrastPrefix(ph, H, W, W, 1);
  const cols = candidateLines(colP, W, H, Math.floor(o.minSize * H * 0.8));
  const rows = candidateLines(rowP, H, W, Math.floor(o.minSize * W * 0.8));
  // frame borders: sides that cannot be seen
  const xs = [{ pos: 0, border: true }, ...cols.map((c) => ({ pos: c.pos, border: false })), { pos: W - 1, border: true }];
  const ys = [{ pos: 0, border: true }, ...rows.map((c) => ({ pos: c.pos, border: false })), { pos: H - 1, border: true }];
  const sideMean = (prefix: Float64Array, along: number, line: number, a: number, b: number): number => {
    // over [a+2, b-2] (corners excluded): the weaker of the mean and the weakest third's mean, so that a
    // side is only strong when the line runs along all of it
    const s = Math.max(0, a + 2);
    const e = Math.min(along, b - 1);
    if (e - s < 6) return -1;
    const base = line * (along + 1);
    const m = (u: number, v: number): number => (prefix[base + v] - prefix[base + u]) / (v - u);
    const c1 = s + Math.round((e - s) / 3);
    const c2 = s + Math.round((2 * (e - s)) / 3);
    return 0.5 * m(s, e) + 0.5 * Math.min(m(s, c1), m(c1, c2), m(c2, e));
  };
  const xPairs: [typeof xs[0], typeof xs[0]][] = [];
  for (const a of xs) for (const b of xs) {
    const w = b.pos - a.pos;
    if (w >= o.minSize * W && w <= o.maxSize * W && !(a.border && b.border)) xPairs.push([a, b]);
  }
  const yPairs: [typeof ys[0], typeof ys[0]][] = [];
  for (const a of ys) for (const b of ys) {
    const h = b.pos - a.pos;
    if (h >= o.minSize * H && h <= o.maxSize * H && !(a.border && b.border)) yPairs.push([a, b]);
  }
  const found: Rect[] = [];
  for (const [l, r] of xPairs) {
    for (const [t, b] of yPairs) {
      const borders = +l.border + +r.border + +t.border + +b.border;
      if (borders > 1) continue;
      let min = Infinity;
      let sum = 0;
      if (!l.border) {
        const v = sideMean(colP, H, l.pos, t.pos, b.pos);
        min = Math.min(min, v);
        sum += v;
      }
      if (!r.border) {
        const v = sideMean(colP, H, r.pos, t.pos, b.pos);
        min = Math.min(min, v);
        sum += v;
      }
      if (min < o.threshold * 0.8) continue;
      if (!t.border) {
        const v = sideMean(rowP, W, t.pos, l.pos, r.pos);
        min = Math.min(min, v);
        sum += v;
      }
      if (!b.border) {
        const v = sideMean(rowP, W, b.pos, l.pos, r.pos);
        min = Math.min(min, v);
        sum += v;
      }
      if (min < o.threshold * 0.8) continue;
      const score = 0.75 * min + 0.25 * (sum / (4 - borders));
      found.push({ x0: l.pos, x1: r.pos, y0: t.pos, y1: b.pos, score });
    }
  }
  found.sort((a, b) => b.score - a.score);
  const lumas = maps.map((m) => m.luma);
  for (const rect of found.slice(0, 8)) {
    const { x0, x1, y0, y1 } = rect;
    // padding test: a visible side next to a flat bar (the strip 2..2+STRIP px outside it, over the whole
    // frame height or width, flat in every frame) is the edge of letterbox / pillarbox / shrink-pad padding.
    // Over the whole extent, because flat footage (a whiteboard, a sky) right beside an inset is common.
    const bar =
      (x0 > BORDER_PX && isFlat(lumas, W, Math.max(0, x0 - 2 - STRIP), x0 - 2, 0, H)) ||
      (x1 < W - 1 - BORDER_PX && isFlat(lumas, W, x1 + 3, Math.min(W, x1 + 3 + STRIP), 0, H)) ||
      (y0 > BORDER_PX && isFlat(lumas, W, 0, W, Math.max(0, y0 - 2 - STRIP), y0 - 2)) ||
      (y1 < H - 1 - BORDER_PX && isFlat(lumas, W, 0, W, y1 + 3, Math.min(H, y1 + 3 + STRIP)));
    if (bar) continue;
    // an inset over footage: the picture inside or the footage around it changes over the window (a fixed
    // rectangle in a still shot is part of the picture; a screencast background may well stand still)
    const inside = meanChange(lumas, W, H, x0 + 3, x1 - 2, y0 + 3, y1 - 2, null);
    const outside = meanChange(lumas, W, H, x0 - 2 - RING, x1 + 3 + RING, y0 - 2 - RING, y1 + 3 + RING, { x0: x0 - 2, x1: x1 + 3, y0: y0 - 2, y1: y1 + 3 });
    if (process.env.INSET_DEBUG) console.log('motion', x0, x1, y0, y1, rect.score.toFixed(3), inside.toFixed(2), outside.toFixed(2));
    if (Math.max(inside, outside) < o.minChange) continue;
    return rect;
  }
  return null;
}

function toBox(r: Rect, W: number, H: number): InsetBox {
  // a side at line l sits between pixels l-1 and l+1 (2-px differences): the edge is at l + 0.5 - 0.5 = l
  const x0 = r.x0 === 0 ? 0 : r.x0;
  const y0 = r.y0 === 0 ? 0 : r.y0;
  const x1 = r.x1 === W - 1 ? W : r.x1;
  const y1 = r.y1 === H - 1 ? H : r.y1;
  return { x: x0 / W, y: y0 / H, w: (x1 - x0) / W, h: (y1 - y0) / H, score: r.score };
}

export function boxIou(a: { x: number; y: number; w: number; h: number }, b: { x: number; y: number; w: number; h: number }): number {
  const ix = Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));
  const inter = ix * iy;
  const union = a.w * a.h + b.w * b.h - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Streaming detector: push frames in order, get each frame's result once the windows that contain
 * it are complete (a look-ahead of `window − 1` frames); `flush()` at the end. Holds `window` edge
 * maps and at most `window` pending items.
 */
export class InsetTracker<T extends RgbImage = RgbImage> {
  private readonly o: Required<InsetOptions>;
  private readonly maps: EdgeMaps[] = [];
  /** Pending items with the window results seen so far. */
  private readonly pending: { item: T; results: (InsetBox | null)[] }[] = [];
  private seen = 0;

  constructor(options: InsetOptions = {}) {
    this.o = { ...DEFAULTS, ...options };
    if (!(this.o.window >= 1)) throw new RangeError(`window must be ≥ 1, got ${this.o.window}`);
  }

  push(item: T): { item: T; box: InsetBox | null }[] {
    this.maps.push(edgeMaps(item));
    if (this.maps.length > this.o.window) this.maps.shift();
    this.pending.push({ item, results: [] });
    this.seen++;
    if (this.maps.length === this.o.window) this.evaluate(this.maps);
    // the oldest pending item has seen all its windows once `window` items followed it... i.e. once it
    // is the first frame of the latest window
    const out: { item: T; box: InsetBox | null }[] = [];
    while (this.pending.length >= this.o.window) out.push(this.decide(this.pending.shift()!));
    return out;
  }

  flush(): { item: T; box: InsetBox | null }[] {
    // a video shorter than the window: one window of all its frames (≥ 2)
    if (this.seen < this.o.window && this.maps.length >= 2) this.evaluate(this.maps);
    const out = this.pending.map((p) => this.decide(p));
    this.pending.length = 0;
    this.maps.length = 0;
    this.seen = 0;
    return out;
  }

  private evaluate(maps: readonly EdgeMaps[]): void {
    const rect = detectInWindow(maps, this.o);
    const box = rect ? toBox(rect, maps[0].width, maps[0].height) : null;
    // the window covers the last maps.length pending items
    for (let k = Math.max(0, this.pending.length - maps.length); k < this.pending.length; k++) this.pending[k].results.push(box);
  }

  private decide(p: { item: T; results: (InsetBox | null)[] }): { item: T; box: InsetBox | null } {
    const boxes = p.results.filter((b): b is InsetBox => b !== null);
    let best: InsetBox | null = null;
    for (const b of boxes) {
      const agreeing = boxes.filter((c) => c !== b && boxIou(b, c) >= 0.8).length;
      const need = agreeing > 0 ? this.o.threshold : this.o.singleThreshold;
      if (b.score >= need && (!best || b.score > best.score)) best = b;
    }
    return { item: p.item, box: best };
  }
}

/** Per-frame detection over a whole (short) sequence of frames, in order. */
export function detectInsets(frames: readonly RgbImage[], options: InsetOptions = {}): (InsetBox | null)[] {
  const tracker = new InsetTracker<RgbImage>(options);
  const out: (InsetBox | null)[] = [];
  for (const f of frames) for (const r of tracker.push(f)) out.push(r.box);
  for (const r of tracker.flush()) out.push(r.box);
  return out;
}
