import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Real footage shipped by Debian packages that scripts/setup.sh installs (opencv-doc, python3-imageio). */
export const REAL = {
  megamind: '/usr/share/doc/opencv-doc/examples/data/Megamind.avi',
  tree: '/usr/share/doc/opencv-doc/examples/data/tree.avi',
  vtest: '/usr/share/doc/opencv-doc/examples/data/vtest.avi',
  cockatoo: '/usr/lib/python3/dist-packages/imageio/resources/images/cockatoo.mp4',
} as const;

export function requireReal(): void {
  for (const p of Object.values(REAL)) {
    if (!existsSync(p)) throw new Error(`test footage ${p} is missing: run \`npm run setup\``);
  }
}

export function tempDir(prefix = 'vidtrace-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function ffmpeg(args: string[]): void {
  execFileSync('ffmpeg', ['-nostdin', '-y', '-loglevel', 'error', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * A query made of `seconds` of `source` starting at `start`, edited (`vf`), between `pad` seconds of
 * synthetic footage that is in no library. Parts are cut by frame count at 25 fps, so the copied part
 * sits exactly at [pad, pad + seconds] in the query (to 1/25 s).
 */
export function makeCopiedQuery(out: string, source: string, start: number, seconds: number, vf: string, pad = 3): void {
  const size = '480x270';
  const padFrames = Math.round(pad * 25);
  const copyFrames = Math.round(seconds * 25);
  ffmpeg([
    '-f', 'lavfi', '-i', `mandelbrot=size=${size}:rate=25`,
    '-ss', String(start), '-t', String(seconds + 1), '-i', source,
    '-f', 'lavfi', '-i', `life=size=${size}:rate=25:mold=10:ratio=0.4`,
    '-filter_complex',
    `[1:v]${vf},scale=${size.replace('x', ':')}:force_original_aspect_ratio=decrease,pad=${size.replace('x', ':')}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=25,trim=end_frame=${copyFrames},setpts=PTS-STARTPTS,format=yuv420p[c];` +
      `[0:v]trim=end_frame=${padFrames},setpts=PTS-STARTPTS,format=yuv420p,setsar=1[a];[2:v]trim=end_frame=${padFrames},setpts=PTS-STARTPTS,format=yuv420p,setsar=1[b];[a][c][b]concat=n=3:v=1:a=0[v]`,
    '-map', '[v]', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '28', out,
  ]);
}

/** Runs the CLI from source (tsx) and returns exit code, stdout and stderr. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): { code: number; stdout: string; stderr: string } {
  const res = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: res.status ?? 1, stdout: res.stdout, stderr: res.stderr };
}
