import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { VectorIndex } from '../../src/index/vector-index.js';
import { tempDir } from '../helpers/fixtures.js';

const tmp = tempDir();
after(() => tmp.cleanup());

function randomUnitBlock(n: number, dim: number, seed: number): Float32Array {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) - 0.5;
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let d = 0; d < dim; d++) norm += (out[i * dim + d] = rand()) ** 2;
    for (let d = 0; d < dim; d++) out[i * dim + d] /= Math.sqrt(norm);
  }
  return out;
}

test('exact inner-product search maps Faiss rows back to keyframe ids', () => {
  const dim = 16;
  const index = VectorIndex.create(dim, 'test@1/16');
  const block = randomUnitBlock(50, dim, 7);
  const ids = Array.from({ length: 50 }, (_, i) => 1000 + i * 3);
  index.add(ids, block);
  const hits = index.search(block.slice(10 * dim, 12 * dim), 3);
  assert.equal(hits.length, 2);
  assert.equal(hits[0][0].id, ids[10]);
  assert.ok(Math.abs(hits[0][0].score - 1) < 1e-5);
  assert.equal(hits[1][0].id, ids[11]);
  assert.ok(hits[0][1].score <= hits[0][0].score);
});

test('removal keeps the other rows mapped to the right ids', () => {
  const dim = 8;
  const index = VectorIndex.create(dim, 'test@1/8');
  const block = randomUnitBlock(20, dim, 3);
  const ids = Array.from({ length: 20 }, (_, i) => i + 1);
  index.add(ids, block);
  assert.equal(index.remove([3, 4, 5, 99]), 3);
  assert.equal(index.size, 17);
  const hit = index.search(block.slice(10 * dim, 11 * dim), 1)[0][0];
  assert.equal(hit.id, 11);
  assert.ok(Math.abs(hit.score - 1) < 1e-5);
});

test('save is atomic and load restores ids, model and vectors; garbage loads as undefined', () => {
  const dim = 8;
  const file = path.join(tmp.dir, 'index.faiss');
  const index = VectorIndex.create(dim, 'test@1/8');
  const block = randomUnitBlock(5, dim, 11);
  index.add([5, 6, 7, 8, 9], block);
  const bytes = index.save(file);
  assert.ok(bytes > 5 * dim * 4);
  assert.deepEqual(readdirSync(tmp.dir).filter((f) => f.includes('.tmp')), [], 'no temp file left');
  const loaded = VectorIndex.load(file);
  assert.ok(loaded);
  assert.equal(loaded.model, 'test@1/8');
  assert.deepEqual([...loaded.ids], [5, 6, 7, 8, 9]);
  assert.equal(loaded.search(block.slice(3 * dim, 4 * dim), 1)[0][0].id, 8);
  writeFileSync(path.join(tmp.dir, 'bad.faiss'), 'not an index');
  assert.equal(VectorIndex.load(path.join(tmp.dir, 'bad.faiss')), undefined);
  assert.equal(VectorIndex.load(path.join(tmp.dir, 'absent.faiss')), undefined);
  assert.ok(!existsSync(path.join(tmp.dir, 'absent.faiss')));
});

test('k larger than the index returns every row; an empty index returns nothing', () => {
  const index = VectorIndex.create(4, 't@1/4');
  assert.deepEqual(index.search(new Float32Array([1, 0, 0, 0]), 5), [[]]);
  index.add([1], new Float32Array([1, 0, 0, 0]));
  assert.equal(index.search(new Float32Array([1, 0, 0, 0]), 5)[0].length, 1);
});
