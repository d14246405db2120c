/**
 * FFmpeg's MPEG-7 video signature filter (`signature`, two-input detect mode) as a copy detection
 * baseline: one ffmpeg run per (query, reference) pair on luma frames at 320 px and 25 fps; the filter
 * logs "matching of video 0 at A and 1 at B, N frames matching", which becomes a box.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Box } from '../src/eval/vcsl.js';

export const SIGNATURE_FPS = 25;
export const SIGNATURE_WIDTH = 320;

export interface SignatureResult {
  /** Predicted boxes per reference index (position in the `references` argument). */
  boxes: Map<number, Box[]>;
  ms: number;
}

export function parseSignatureLog(log: string, fps = SIGNATURE_FPS): Map<number, Box[]> {
  const boxes = new Map<number, Box[]>();
  const re = /matching of video (\d+) at ([\d.]+) and (\d+) at ([\d.]+), (\d+) frames matching/g;
  for (const m of log.matchAll(re)) {
    const a = Number(m[1]);
    const b = Number(m[3]);
    if (a !== 0 || b === 0) continue; // only query (input 0) against references
    const qs = Number(m[2]);
    const rs = Number(m[4]);
    const len = Number(m[5]) / fps;
    const list = boxes.get(b - 1) ?? [];
    list.push([qs, rs, qs + len, rs + len]);
    boxes.set(b - 1, list);
  }
  return boxes;
}

const NORMALISE = `scale=${SIGNATURE_WIDTH}:-2,fps=${SIGNATURE_FPS},setsar=1,format=gray`;

/**
 * The signature filter's "indexing": each reference decoded once to the filter's working form (luma,
 * 320 px wide, 25 fps) as raw frames, so that the per-query runs do not decode every reference again.
 * Returns the prepared files, in the order given.
 */
export function prepareSignatureReferences(references: readonly { id: string; path: string }[], cacheDir: string): string[] {
  mkdirSync(cacheDir, { recursive: true });
  return references.map((r) => {
    const out = path.join(cacheDir, `${r.id}.nut`);
    if (!existsSync(out)) {
      const tmp = `${out}.tmp.nut`;
      execFileSync('ffmpeg', ['-nostdin', '-y', '-v', 'error', '-i', r.path, '-an', '-sn', '-vf', NORMALISE, '-c:v', 'rawvideo', '-f', 'nut', tmp]);
      renameSync(tmp, out);
    }
    return out;
  });
}

function runPair(query: string, reference: string): Promise<Box[]> {
  const graph = `[0:v][1:v]signature=nb_inputs=2:detectmode=full`;
  const args = ['-hide_banner', '-nostdin', '-nostats', '-i', query, '-i', reference, '-filter_complex', graph, '-f', 'null', '-'];
  return new Promise((resolve, reject) => {
    execFile('ffmpeg', args, { maxBuffer: 64 * 1024 * 1024 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`ffmpeg signature failed for ${query} vs ${reference}: ${String(stderr).split('\n').slice(-5).join(' | ')}`));
      else resolve(parseSignatureLog(String(stderr)).get(0) ?? []);
    });
  });
}

/**
 * The signature filter in two-input detect mode, once per (query, reference) pair (its multi-input
 * mode compares every pair of inputs, references among themselves too, and is far slower).
 * Two ffmpeg processes run at once.
 */
export async function signatureMatch(query: string, references: readonly string[], parallel = 2): Promise<SignatureResult> {
  const started = performance.now();
  // The query is decoded once to the same working form as the references.
  const normalised = path.join(path.dirname(references[0] ?? query), `query-${process.pid}.nut`);
  execFileSync('ffmpeg', ['-nostdin', '-y', '-v', 'error', '-i', query, '-an', '-sn', '-vf', NORMALISE, '-c:v', 'rawvideo', '-f', 'nut', normalised]);
  const boxes = new Map<number, Box[]>();
  let next = 0;
  const worker = async () => {
    while (next < references.length) {
      const i = next++;
      const found = await runPair(normalised, references[i]);
      if (found.length) boxes.set(i, found);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  rmSync(normalised, { force: true });
  return { boxes, ms: performance.now() - started };
}
