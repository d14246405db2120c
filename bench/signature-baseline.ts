/**
 * FFmpeg's MPEG-7 video signature filter (`signature`, two-or-more-input detect mode) as a copy
 * detection baseline: one ffmpeg run per query with the query and every reference as inputs; the
 * filter compares every pair and logs "matching of video 0 at A and J at B, N frames matching".
 */
import { execFile } from 'node:child_process';
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

/** Runs the signature filter on a query against all references in one ffmpeg process. */
export function signatureMatch(query: string, references: readonly string[]): Promise<SignatureResult> {
  const inputs = [query, ...references];
  const scaled = inputs.map((_, i) => `[${i}:v]scale=${SIGNATURE_WIDTH}:-2,fps=${SIGNATURE_FPS},setsar=1[s${i}]`).join(';');
  const graph = `${scaled};${inputs.map((_, i) => `[s${i}]`).join('')}signature=nb_inputs=${inputs.length}:detectmode=full`;
  const args = ['-hide_banner', '-nostdin', '-nostats', ...inputs.flatMap((p) => ['-i', p]), '-filter_complex', graph, '-f', 'null', '-'];
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile('ffmpeg', args, { maxBuffer: 256 * 1024 * 1024 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`ffmpeg signature failed for ${query}: ${String(stderr).split('\n').slice(-5).join(' | ')}`));
      else resolve({ boxes: parseSignatureLog(String(stderr)), ms: performance.now() - started });
    });
  });
}
