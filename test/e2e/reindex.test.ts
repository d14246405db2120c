import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { MatchReport } from '../../src/report/match-report.js';
import { REAL, ROOT, makeCopiedQuery, requireReal, runCli, tempDir } from '../helpers/fixtures.js';

const tmp = tempDir();
const modelsDir = path.join(tmp.dir, 'models');
const lib = path.join(tmp.dir, 'library');
const store = path.join(tmp.dir, 'store');
const query = path.join(tmp.dir, 'query.mp4');
const env = { VIDTRACE_MODELS_DIR: modelsDir };
const cli = (...args: string[]) => runCli(['--store', store, ...args], env);

before(() => {
  requireReal();
  // A models folder with the shipped encoder under two identities: moving a library between them
  // exercises refusal, staged re-embedding, resume and the final swap with real decoding and ONNX.
  mkdirSync(modelsDir);
  const shipped = JSON.parse(readFileSync(path.join(ROOT, 'models/models.json'), 'utf8'));
  const base = shipped.find((m: { id: string }) => m.id === 'mobilenetv2-imagenet');
  const file = path.join(ROOT, 'models', base.file);
  writeFileSync(
    path.join(modelsDir, 'models.json'),
    JSON.stringify([
      { ...base, id: 'enc-a', version: '1', file },
      { ...base, id: 'enc-b', version: '2', file },
    ]),
  );
  mkdirSync(lib);
  symlinkSync(REAL.tree, path.join(lib, 'tree.avi'));
  symlinkSync(REAL.cockatoo, path.join(lib, 'cockatoo.mp4'));
  symlinkSync(REAL.vtest, path.join(lib, 'vtest.avi'));
  makeCopiedQuery(query, REAL.tree, 10, 8, 'hflip');
});
after(() => tmp.cleanup());

test('a library refuses another encoder, and reindex moves it (resumable) to the new one', async () => {
  assert.equal(cli('--model', 'enc-a', 'index', lib).code, 0);
  const refused = cli('--model', 'enc-b', 'match', query, '--json');
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /indexed with encoder enc-a@1\/1280 but enc-b@2\/1280 was requested.*vidtrace reindex --model enc-b/);

  // Interrupt a reindex after its first video, then resume.
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), '--store', store, '--model', 'enc-b', 'reindex'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  await new Promise<void>((resolve) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      if (/\[1\/3\] re-embedded/.test(stderr)) child.kill('SIGKILL');
    });
    child.on('exit', () => resolve());
  });
  assert.match(stderr, /reindex enc-a@1\/1280 → enc-b@2\/1280: 3 of 3 video\(s\) to re-embed/);
  assert.equal(JSON.parse(cli('--model', 'enc-a', 'stats', '--json').stdout).model, 'enc-a@1/1280', 'still the old encoder until the end');

  const resumed = cli('--model', 'enc-b', 'reindex');
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /2 of 3 video\(s\) to re-embed/, 'the finished video is not decoded again');
  assert.match(resumed.stderr, /the library now uses enc-b@2\/1280/);

  const stats = JSON.parse(cli('--model', 'enc-b', 'stats', '--json').stdout);
  assert.equal(stats.model, 'enc-b@2/1280');
  assert.equal(stats.videos, 3);
  assert.equal(stats.indexRows, stats.keyframes);
  const report = JSON.parse(cli('--model', 'enc-b', 'match', query, '--json').stdout) as MatchReport;
  assert.equal(path.basename(report.matches[0].reference.path), 'tree.avi');
  assert.equal(cli('--model', 'enc-a', 'stats').code, 1, 'now the old encoder is refused');
  assert.match(cli('--model', 'enc-b', 'reindex').stderr, /already uses enc-b@2\/1280/);
});
