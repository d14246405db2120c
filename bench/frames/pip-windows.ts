/**
 * Picture-in-picture with query-side windows (an experiment, not an encoder): every query frame is
 * embedded whole AND as sub-windows (scales 0.4/0.5/0.6 of the frame on a 3x3 grid of positions),
 * each window is searched, and a database frame's score is its best score over the windows. The
 * library keeps one vector per frame. Run on the pip queries, all other-family queries of the same
 * frames are left out; the negative queries are windowed too (so false positives are counted).
 *
 *   node --import tsx bench/frames/pip-windows.ts [--model mnv2bc-fused-lw256]
 * Needs the embeddings cached by bench/frames.ts. Writes .cache/bench/pip-windows.json.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Frame } from '../../src/decode/frames.js';
import { SHIPPED_ID, candidates, embedShared, openEmbedder } from './candidates.js';
import { CACHE_DIR, buildData, readFrames, type FrameMeta, type FrameSet } from './dataset.js';
import { FRAME_BYTES, SIZE, resizeCropArea } from './ffmpeg.js';
import { K, buildIndex, score, searchAll } from './metrics.js';

const argv = process.argv.slice(2);
const id = argv.includes('--model') ? (argv[argv.indexOf('--model') + 1] as string) : SHIPPED_ID;
const SCALES = [0.4, 0.5, 0.6];
const POS = [0, 0.5, 1];

function windows(rgb: Uint8Array): Uint8Array[] {
  const img = { width: SIZE, height: SIZE, rgb };
  const out: Uint8Array[] = [rgb];
  for (const s of SCALES) {
    const w = SIZE * s;
    for (const py of POS) for (const px of POS) out.push(resizeCropArea(img, (SIZE - w) * px, (SIZE - w) * py, w, w, SIZE));
  }
  return out;
}

async function main(): Promise<void> {
  const c = candidates().find((x) => x.id === id);
  if (!c?.backbone) throw new Error(`unknown or non-backbone candidate ${id}`);
  const data = await buildData();
  const db: Float32Array[] = [];
  for (const set of [data.refs, data.distractors]) db.push((await embedShared(c.backbone, [c], set, console.log)).get(c.id) as Float32Array);
  const dbv = new Float32Array(db[0]!.length + db[1]!.length);
  dbv.set(db[0]!);
  dbv.set(db[1]!, db[0]!.length);
  const dbMeta = [...data.refs.meta, ...data.distractors.meta];
  const index = buildIndex(dbv, c.dim);
  const e = await openEmbedder(c);
  const pick = (set: FrameSet, keep: (m: FrameMeta) => boolean): Array<[FrameSet, number]> =>
    set.meta.flatMap((m, i) => (keep(m) ? [[set, i] as [FrameSet, number]] : []));
  const items = [...pick(data.queries, (m) => m.family === 'pip'), ...pick(data.negatives, () => true)];
  const nw = 1 + SCALES.length * POS.length * POS.length;
  const t0 = performance.now();
  const qmeta: FrameMeta[] = [];
  const whole: { labels: Int32Array; scores: Float32Array } = { labels: new Int32Array(items.length * K), scores: new Float32Array(items.length * K) };
  const merged: { labels: Int32Array; scores: Float32Array } = { labels: new Int32Array(items.length * K), scores: new Float32Array(items.length * K) };
  for (let q = 0; q < items.length; q++) {
    const [set, i] = items[q] as [FrameSet, number];
    qmeta.push(set.meta[i] as FrameMeta);
    const frames: Frame[] = windows(new Uint8Array(readFrames(set, i, 1).subarray(0, FRAME_BYTES))).map((rgb, k) => ({ index: k, time: 0, width: SIZE, height: SIZE, rgb }));
    const vecs = await e.embed(frames);
    const qv = new Float32Array(nw * e.dim);
    vecs.forEach((v, k) => qv.set(v, k * e.dim));
    const r = searchAll(index, e.dim, qv);
    if (q % 100 === 99) console.log(`  ${q + 1}/${items.length}`);
    // whole frame only
    whole.labels.set(r.labels.subarray(0, K), q * K);
    whole.scores.set(r.scores.subarray(0, K), q * K);
    // best score per database frame over all windows
    const best = new Map<number, number>();
    for (let k = 0; k < nw * K; k++) {
      const lab = r.labels[k] as number;
      if (lab >= 0 && (best.get(lab) ?? -Infinity) < (r.scores[k] as number)) best.set(lab, r.scores[k] as number);
    }
    const top = [...best].sort((a, b) => b[1] - a[1]).slice(0, K);
    top.forEach(([lab, s], k) => {
      merged.labels[q * K + k] = lab;
      merged.scores[q * K + k] = s;
    });
  }
  await e.close();
  const sw = score(whole, qmeta, dbMeta);
  const sm = score(merged, qmeta, dbMeta);
  const ms = (performance.now() - t0) / items.length;
  const line = (name: string, s: typeof sw): string =>
    `${name.padEnd(28)} pip R@1 ${s.families.pip?.r1.toFixed(3)}  R@10 ${s.families.pip?.r10.toFixed(3)}  µAP(pip+neg) ${s.microAP.toFixed(3)}  cp50 ${s.copyMedian.toFixed(2)}  ng95 ${s.negativeP95.toFixed(2)}`;
  console.log(`${id}: ${items.length - data.negatives.meta.length} pip queries + ${data.negatives.meta.length} negatives, ${nw} vectors per query frame (${ms.toFixed(0)} ms per query frame incl. search)`);
  console.log(line('whole frame', sw));
  console.log(line(`whole + ${nw - 1} windows (max)`, sm));
  writeFileSync(path.join(CACHE_DIR, 'pip-windows.json'), JSON.stringify({ model: id, scales: SCALES, positions: POS, whole: sw, windows: sm }, null, 1));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
