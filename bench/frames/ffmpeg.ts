/**
 * Small ffmpeg helpers for the frame benchmark: run a command and collect raw stdout, parse PPM
 * pipes, and a bounded parallel map.
 */
import { spawn } from 'node:child_process';

export const SIZE = 224;
export const FRAME_BYTES = SIZE * SIZE * 3;

export function ffmpeg(args: readonly string[], stdin?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const p = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', ...args], { stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    p.stdout?.on('data', (d: Buffer) => out.push(d));
    p.stderr?.on('data', (d: Buffer) => {
      if (err.length < 8000) err += d.toString();
    });
    p.on('error', reject);
    p.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`ffmpeg ${args.join(' ')} exited ${code}: ${err.split('\n').slice(-6).join(' | ')}`));
    });
    if (stdin && p.stdin) {
      p.stdin.on('error', () => {});
      p.stdin.end(stdin);
    }
  });
}

export interface RgbImage {
  width: number;
  height: number;
  rgb: Uint8Array;
}

/** Splits an `image2pipe -c:v ppm` stream (P6, maxval 255) into images. */
export function parsePpmStream(buf: Buffer): RgbImage[] {
  const out: RgbImage[] = [];
  let pos = 0;
  const token = (): string => {
    // skip whitespace and comments
    for (;;) {
      while (pos < buf.length && /\s/.test(String.fromCharCode(buf[pos]))) pos++;
      if (buf[pos] === 0x23) {
        while (pos < buf.length && buf[pos] !== 0x0a) pos++;
      } else break;
    }
    const start = pos;
    while (pos < buf.length && !/\s/.test(String.fromCharCode(buf[pos]))) pos++;
    return buf.toString('latin1', start, pos);
  };
  while (pos < buf.length) {
    const magic = token();
    if (magic === '') break;
    if (magic !== 'P6') throw new Error(`not a P6 ppm stream (got ${magic})`);
    const width = Number(token());
    const height = Number(token());
    const maxval = Number(token());
    if (maxval !== 255) throw new Error(`ppm maxval ${maxval} unsupported`);
    pos += 1; // single whitespace after maxval
    const n = width * height * 3;
    out.push({ width, height, rgb: new Uint8Array(buf.subarray(pos, pos + n)) });
    pos += n;
  }
  return out;
}

export async function pmap<T, R>(items: readonly T[], jobs: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      results[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, worker));
  return results;
}

/** Area (box-filter) resize of an RGB crop to size x size, optional horizontal flip. */
export function resizeCropArea(img: RgbImage, x0: number, y0: number, w: number, h: number, size: number, flip = false): Uint8Array {
  const out = new Uint8Array(size * size * 3);
  const sx = w / size;
  const sy = h / size;
  for (let oy = 0; oy < size; oy++) {
    const ya = y0 + oy * sy;
    const yb = ya + sy;
    for (let ox = 0; ox < size; ox++) {
      const xa = x0 + ox * sx;
      const xb = xa + sx;
      let r = 0;
      let g = 0;
      let b = 0;
      let wsum = 0;
      for (let y = Math.floor(ya); y < Math.ceil(yb); y++) {
        const wy = Math.min(yb, y + 1) - Math.max(ya, y);
        if (wy <= 0 || y < 0 || y >= img.height) continue;
        for (let x = Math.floor(xa); x < Math.ceil(xb); x++) {
          const wx = Math.min(xb, x + 1) - Math.max(xa, x);
          if (wx <= 0 || x < 0 || x >= img.width) continue;
          const wgt = wx * wy;
          const p = (y * img.width + x) * 3;
          r += img.rgb[p] * wgt;
          g += img.rgb[p + 1] * wgt;
          b += img.rgb[p + 2] * wgt;
          wsum += wgt;
        }
      }
      const dx = flip ? size - 1 - ox : ox;
      const q = (oy * size + dx) * 3;
      out[q] = Math.round(r / wsum);
      out[q + 1] = Math.round(g / wsum);
      out[q + 2] = Math.round(b / wsum);
    }
  }
  return out;
}
