/**
 * Look-alike references on real footage: two takes of one static street camera (OpenCV's vtest.avi cut in
 * two) in the library, a cropped copy of the second take as the query. The whole-frame embeddings of the two
 * takes are nearly the same (one street, other passers-by); the match must name the copied take only, and
 * say in its evidence that it was preferred over the other take, and why.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { Library } from '../../src/library/library.js';
import { REAL, ffmpeg, makeCopiedQuery, requireReal, tempDir } from '../helpers/fixtures.js';

const tmp = tempDir();
const f = (name: string) => path.join(tmp.dir, name);
let library: Library;

before(async () => {
  requireReal();
  for (const [name, start] of [['takeA.mp4', 0], ['takeB.mp4', 25]] as const) {
    ffmpeg(['-ss', String(start), '-t', '25', '-i', REAL.vtest, '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', f(name)]);
  }
  // vtest 30-40 s = take B 5-15 s, cropped to the centre 70 %, between 3 s of unrelated synthetic footage.
  makeCopiedQuery(f('query.mp4'), REAL.vtest, 30, 10, 'crop=iw*0.7:ih*0.7');
  library = await Library.open(loadConfig({ storeDir: f('store') }));
  await library.indexPaths([f('takeA.mp4'), f('takeB.mp4')]);
});
after(async () => {
  await library?.close();
  tmp.cleanup();
});

test('a copy of one take of a static camera is attributed to that take, the other take named as weighed', async () => {
  const report = await library.match(f('query.mp4'));
  assert.deepEqual(report.matches.map((m) => path.basename(m.reference.path)), ['takeB.mp4']);
  const [segment] = report.matches[0].segments;
  assert.ok(segment.query[0] < 4 && segment.query[1] > 12, `query seconds ${segment.query}`);
  const over = segment.evidence?.preferredOver ?? [];
  assert.deepEqual(over.map((o) => path.basename(o.path)), ['takeA.mp4']);
  // Ten seconds of passers-by: decided by motion, the copied take following the query's changes, the other not.
  assert.equal(over[0].by, 'motion');
  assert.ok(over[0].motion && over[0].motion.kept > over[0].motion.dropped, JSON.stringify(over[0]));
  // without look-alike resolution both takes are claimed
  const all = await library.match(f('query.mp4'), { lookAlikes: false });
  assert.deepEqual(all.matches.map((m) => path.basename(m.reference.path)).sort(), ['takeA.mp4', 'takeB.mp4']);
});
