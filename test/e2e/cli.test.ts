import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { MatchReport } from '../../src/report/match-report.js';
import { REAL, ROOT, ffmpeg, makeCopiedQuery, requireReal, runCli, tempDir } from '../helpers/fixtures.js';
import { freshPostgresDatabase } from '../helpers/postgres.js';

const tmp = tempDir();
const lib = path.join(tmp.dir, 'library');
const bad = path.join(tmp.dir, 'bad');
const queries = path.join(tmp.dir, 'queries');
const store = path.join(tmp.dir, 'store');
const cli = (...args: string[]) => runCli(['--store', store, ...args]);

function overlap(a: [number, number], b: [number, number]): number {
  return Math.max(0, Math.min(a[1], b[1]) - Math.max(a[0], b[0]));
}

before(() => {
  requireReal();
  for (const dir of [lib, bad, queries]) mkdirSync(dir, { recursive: true });
  symlinkSync(REAL.megamind, path.join(lib, 'megamind.avi'));
  symlinkSync(REAL.tree, path.join(lib, 'tree.avi'));
  symlinkSync(REAL.cockatoo, path.join(lib, 'cockatoo.mp4'));
  // Bad inputs mixed into a folder with one good video.
  copyFileSync(REAL.megamind, path.join(bad, 'good.avi'));
  writeFileSync(path.join(bad, 'notes.mp4'), 'not a video\n');
  writeFileSync(path.join(bad, 'empty.mp4'), '');
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=4', '-c:v', 'libx264', path.join(tmp.dir, 'whole.mp4')]);
  const whole = readFileSync(path.join(tmp.dir, 'whole.mp4'));
  writeFileSync(path.join(bad, 'truncated.mp4'), whole.subarray(0, Math.floor(whole.length / 3)));
  ffmpeg(['-f', 'lavfi', '-i', 'sine=duration=2', '-c:a', 'aac', path.join(bad, 'audio.mp4')]);
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25:duration=0.4', '-c:v', 'libx264', path.join(bad, 'short.mp4')]);
  symlinkSync(path.join(tmp.dir, 'gone.mp4'), path.join(bad, 'dangling.mp4'));
  // Queries: 8 s of tree.avi from 10 s, mirrored and brightened, between 3 s of unrelated synthetic footage.
  makeCopiedQuery(path.join(queries, 'tree-copy.mp4'), REAL.tree, 10, 8, 'hflip,eq=brightness=0.08');
  makeCopiedQuery(path.join(queries, 'cockatoo-copy.mp4'), REAL.cockatoo, 2, 6, 'scale=iw/3:ih/3,eq=saturation=1.6');
  // Picture-in-picture: 7 s of the cockatoo, shrunk to half size, over moving synthetic footage at (200, 100) from 2 s to 9 s.
  ffmpeg([
    '-f', 'lavfi', '-i', 'mandelbrot=size=480x270:rate=25,trim=end_frame=275',
    '-ss', '2', '-t', '8', '-i', REAL.cockatoo,
    '-filter_complex', '[1:v]scale=240:135,setsar=1,fps=25,trim=end_frame=175,setpts=PTS-STARTPTS+2/TB[c];[0:v][c]overlay=200:100:eof_action=pass,format=yuv420p[v]',
    '-map', '[v]', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '26', path.join(queries, 'cockatoo-pip.mp4'),
  ]);
  // The copy starts between two 1-fps samples (3.4 s): its ends must come from the query's shot cuts.
  makeCopiedQuery(path.join(queries, 'cockatoo-offset.mp4'), REAL.cockatoo, 3, 7, 'eq=contrast=1.2', 3.4);
  ffmpeg(['-f', 'lavfi', '-i', 'mandelbrot=size=320x240:rate=25,trim=duration=8', '-c:v', 'libx264', path.join(queries, 'negative.mp4')]);
});
after(() => tmp.cleanup());

describe('vidtrace CLI on the embedded store', () => {
  test('index a folder recursively, with progress lines and a summary', () => {
    const r = cli('index', lib);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /indexing 3 file\(s\)/);
    assert.match(r.stderr, /\[3\/3\] indexed .*tree\.avi \(29\.6 s, 30 keyframes\)/);
    assert.match(r.stderr, /indexed 3, already present 0, failed 0/);
    const stats = JSON.parse(cli('stats', '--json').stdout);
    assert.equal(stats.videos, 3);
    // One keyframe per started second (Megamind.avi is 11.26 s: 12).
    assert.equal(stats.keyframes, 12 + 30 + 14);
    assert.equal(stats.indexRows, stats.keyframes);
    assert.ok(Math.abs(stats.seconds - (11.26 + 29.6 + 14)) < 0.2);
    assert.equal(stats.model, 'mnv2bc-ftfused25-lw256@1/256', 'the default encoder');
    assert.ok(stats.indexBytes > stats.keyframes * 256 * 4);
  });

  test('indexing the same content again is a no-op', () => {
    const r = cli('index', REAL.tree);
    assert.equal(r.code, 0);
    assert.match(r.stderr, /already indexed .*tree\.avi/);
    assert.equal(JSON.parse(cli('stats', '--json').stdout).videos, 3);
  });

  test('match finds the copied reference and the copied seconds', () => {
    const r = cli('match', path.join(queries, 'tree-copy.mp4'), '--json');
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as MatchReport;
    assert.ok(Math.abs(report.query.duration - 14) < 0.2);
    assert.equal(report.matches.length, 1, JSON.stringify(report.matches.map((m) => m.reference.path)));
    assert.equal(report.info.aligner, 'spd', 'the learned SPD detector is the default aligner');
    const [m] = report.matches;
    assert.equal(path.basename(m.reference.path), 'tree.avi');
    assert.ok(m.score > 0 && m.score <= 1);
    const best = m.segments[0];
    assert.ok(overlap(best.query, [3, 11]) >= 5, `query segment ${best.query}`);
    assert.ok(overlap(best.reference, [10, 18]) >= 5, `reference segment ${best.reference}`);
    // Every claim carries its evidence: aligned frame pairs inside the box.
    assert.ok(best.evidence && best.evidence.pairs.length >= 5);
    for (const [qt, rt, sim] of best.evidence.pairs) {
      assert.ok(qt >= best.query[0] && qt < best.query[1] && rt >= best.reference[0] && rt < best.reference[1] && sim > 0);
    }

    const small = JSON.parse(cli('match', path.join(queries, 'cockatoo-copy.mp4'), '--json').stdout) as MatchReport;
    assert.equal(path.basename(small.matches[0]?.reference.path ?? ''), 'cockatoo.mp4');
    assert.ok(overlap(small.matches[0].segments[0].reference, [2, 8]) >= 3);
  });

  test('segment ends between two samples are found to a frame where the query cuts into the copy', () => {
    // 7 s of the cockatoo from 3 s, placed at [3.4, 10.4]: both ends fall between two 1-fps samples.
    const report = JSON.parse(cli('match', path.join(queries, 'cockatoo-offset.mp4'), '--json').stdout) as MatchReport;
    assert.equal(path.basename(report.matches[0]?.reference.path ?? ''), 'cockatoo.mp4');
    const best = report.matches[0].segments[0];
    assert.ok(Math.abs(best.query[0] - 3.4) <= 0.08 && Math.abs(best.query[1] - 10.4) <= 0.08, `query segment ${best.query}, copy at [3.4, 10.4]`);
    // The reference side follows the query cut along the band; its own 1-fps sampling and the alignment leave up to a second.
    assert.ok(Math.abs(best.reference[0] - 3) <= 1 && Math.abs(best.reference[1] - 10) <= 1, `reference segment ${best.reference}`);
  });

  test('a picture-in-picture copy is found through its inset, and the claim names the inset', () => {
    const report = JSON.parse(cli('match', path.join(queries, 'cockatoo-pip.mp4'), '--json').stdout) as MatchReport;
    assert.equal(path.basename(report.matches[0]?.reference.path ?? ''), 'cockatoo.mp4', JSON.stringify(report.matches.map((m) => m.reference.path)));
    const best = report.matches[0].segments[0];
    assert.ok(overlap(best.query, [2, 9]) >= 4, `query segment ${best.query}`);
    assert.ok(overlap(best.reference, [2, 9]) >= 4, `reference segment ${best.reference}`);
    const region = best.evidence?.queryRegion;
    assert.ok(region, 'evidence.queryRegion');
    const truth = { x: 200 / 480, y: 100 / 270, w: 0.5, h: 0.5 };
    for (const k of ['x', 'y', 'w', 'h'] as const) assert.ok(Math.abs(region[k] - truth[k]) < 0.03, `${k}: ${region[k]} vs ${truth[k]}`);
  });

  test('without a detector for its encoder the default aligner is the temporal network, and the user is told why', () => {
    // The project's models, the SPD detector left out.
    const models = path.join(tmp.dir, 'models-no-spd');
    mkdirSync(models);
    for (const name of readdirSync(path.join(ROOT, 'models'))) if (name !== 'spd-detector') symlinkSync(path.join(ROOT, 'models', name), path.join(models, name));
    const r = runCli(['--store', store, 'match', path.join(queries, 'tree-copy.mp4'), '--json'], { VIDTRACE_MODELS_DIR: models });
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as MatchReport;
    assert.equal(report.info.aligner, 'tn');
    assert.match(r.stderr, /model spd-detector not found .*matching with the temporal network/);
    assert.equal(path.basename(report.matches[0]?.reference.path ?? ''), 'tree.avi');
    // Asked for by name, a missing detector is an error, not a silent substitute.
    const spd = runCli(['--store', store, 'match', path.join(queries, 'tree-copy.mp4'), '--aligner', 'spd'], { VIDTRACE_MODELS_DIR: models });
    assert.notEqual(spd.code, 0);
    assert.match(spd.stderr, /^error: model spd-detector not found/m);
  });

  test('a query made of unrelated footage matches nothing', () => {
    const report = JSON.parse(cli('match', path.join(queries, 'negative.mp4'), '--json').stdout) as MatchReport;
    assert.deepEqual(report.matches, []);
  });

  test('bad files in a folder: one error line each, the rest indexed, nothing half-written', () => {
    const before = JSON.parse(cli('stats', '--json').stdout);
    const r = cli('index', bad);
    assert.equal(r.code, 0, 'the command as a whole worked');
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('error: '));
    const expect: [string, RegExp][] = [
      ['notes.mp4', /not a readable media file/],
      ['empty.mp4', /empty file \(0 bytes\)/],
      ['truncated.mp4', /not a readable media file/],
      ['audio.mp4', /no video stream/],
      ['short.mp4', /shorter than one sample interval/],
      ['dangling.mp4', /no such file/],
    ];
    for (const [file, reason] of expect) {
      const line = errors.find((l) => l.includes(file));
      assert.ok(line, `an error line for ${file} in:\n${r.stderr}`);
      assert.match(line, reason);
    }
    assert.equal(errors.length, expect.length, r.stderr);
    assert.match(r.stderr, /indexed 0, already present 1, failed 6/, 'good.avi is megamind again: deduplicated by content');
    const afterStats = JSON.parse(cli('stats', '--json').stdout);
    assert.equal(afterStats.keyframes, before.keyframes);
    assert.equal(afterStats.indexRows, afterStats.keyframes);
  });

  test('a single bad file or a missing query fails the command with a clear line', () => {
    const r = cli('index', path.join(bad, 'notes.mp4'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: .*notes\.mp4: not a readable media file/m);
    const m = cli('match', path.join(tmp.dir, 'missing.mp4'), '--json');
    assert.equal(m.code, 1);
    assert.match(m.stderr, /^error: .*missing\.mp4: no such file/m);
    assert.equal(m.stdout, '');
  });

  test('list and remove: a removed video is no longer matched', () => {
    const list = JSON.parse(cli('list', '--json').stdout) as { id: string; path: string }[];
    assert.equal(list.length, 3);
    const tree = list.find((v) => v.path.endsWith('tree.avi'));
    assert.ok(tree);
    const r = cli('remove', tree.id);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /removed .*tree\.avi/);
    const stats = JSON.parse(cli('stats', '--json').stdout);
    assert.equal(stats.videos, 2);
    assert.equal(stats.keyframes, 12 + 14);
    assert.equal(stats.indexRows, 12 + 14);
    const report = JSON.parse(cli('match', path.join(queries, 'tree-copy.mp4'), '--json').stdout) as MatchReport;
    assert.ok(!report.matches.some((m) => m.reference.id === tree.id));
    assert.equal(cli('remove', tree.id).code, 1);
  });
});

describe('crash safety', () => {
  test('kill -9 in the middle of `index` leaves a store the next run repairs and continues', async () => {
    const crashStore = path.join(tmp.dir, 'crash-store');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), '--store', crashStore, 'index', lib, REAL.vtest], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        // Kill while the second file is being decoded: the first is committed, the index not yet saved.
        if (/\[1\/4\] indexed/.test(stderr)) {
          child.kill('SIGKILL');
        }
      });
      child.on('exit', () => resolve());
      child.on('error', reject);
    });
    assert.match(stderr, /\[1\/4\] indexed/);
    assert.doesNotMatch(stderr, /\[4\/4\]/, 'killed before the end');
    const stats = runCli(['--store', crashStore, 'stats', '--json']);
    assert.equal(stats.code, 0, stats.stderr);
    const s = JSON.parse(stats.stdout);
    assert.ok(s.videos >= 1 && s.videos < 4);
    assert.equal(s.indexRows, s.keyframes, 'index and database agree after restart');
    const again = runCli(['--store', crashStore, 'index', lib, REAL.vtest]);
    assert.equal(again.code, 0, again.stderr);
    const final = JSON.parse(runCli(['--store', crashStore, 'stats', '--json']).stdout);
    assert.equal(final.videos, 4);
    assert.equal(final.indexRows, final.keyframes);
    assert.equal(final.keyframes, 12 + 30 + 14 + 80);
  });

  test('a second process on the same embedded store is refused while the first runs', async () => {
    const lockedStore = path.join(tmp.dir, 'locked-store');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), '--store', lockedStore, 'index', REAL.vtest], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    await new Promise<void>((resolve) => child.stderr.on('data', (d: Buffer) => ((stderr += d), /indexing 1 file/.test(stderr) && resolve())));
    const r = runCli(['--store', lockedStore, 'stats']);
    child.kill('SIGKILL');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /store is in use by process \d+/);
  });
});

describe('vidtrace CLI on PostgreSQL (DATABASE_URL)', () => {
  test('same commands, same schema, against the real server', async () => {
    const fresh = await freshPostgresDatabase();
    const pgStore = path.join(tmp.dir, 'pg-store');
    const env = { DATABASE_URL: fresh.url };
    try {
      const r = runCli(['--store', pgStore, 'index', lib], env);
      assert.equal(r.code, 0, r.stderr);
      const stats = JSON.parse(runCli(['--store', pgStore, 'stats', '--json'], env).stdout);
      assert.equal(stats.database, 'postgres');
      assert.equal(stats.videos, 3);
      assert.equal(stats.indexRows, stats.keyframes);
      const report = JSON.parse(runCli(['--store', pgStore, 'match', path.join(queries, 'tree-copy.mp4'), '--json'], env).stdout) as MatchReport;
      assert.equal(path.basename(report.matches[0].reference.path), 'tree.avi');
    } finally {
      await fresh.drop();
    }
  });
});

describe('packaging', () => {
  test('the built CLI runs as `node dist/cli.js`', () => {
    const r = runCli(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /index \[options\] <paths\.\.\.>/);
    const built = path.join(ROOT, 'dist/cli.js');
    const res = spawnSync(process.execPath, [built, '--help'], { encoding: 'utf8' });
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /match \[options\] <query>/);
    const npx = spawnSync('npx', ['--no-install', 'vidtrace', '--help'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(npx.status, 0, npx.stderr);
    assert.match(npx.stdout, /Find where a video was copied from/);
  });
});
