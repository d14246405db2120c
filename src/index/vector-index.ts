/**
 * The only module that imports faiss-node. An exact inner-product index over L2-normalised keyframe
 * vectors; each Faiss row maps to a keyframe id. Saved as one file (header + row ids + Faiss blob)
 * written to a temporary name and renamed, so a crash never leaves a half-written index.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { IndexFlatIP as FaissIndexFlatIP } from 'faiss-node';
import { StoreError } from '../errors.js';

const require = createRequire(import.meta.url);
let faissModule: typeof import('faiss-node') | undefined;
function faiss(): typeof import('faiss-node') {
  if (!faissModule) {
    try {
      faissModule = require('faiss-node') as typeof import('faiss-node');
    } catch (e) {
      throw new StoreError(`faiss-node native addon is not built: run \`npm run setup\` (${(e as Error).message.split('\n')[0]})`, { cause: e });
    }
  }
  return faissModule;
}

const MAGIC = Buffer.from('VTIDX01\n');

export interface Neighbour {
  /** Keyframe id. */
  id: number;
  score: number;
}

export class VectorIndex {
  private constructor(
    readonly dim: number,
    readonly model: string,
    private index: FaissIndexFlatIP,
    /** Keyframe id of every Faiss row, in row order. */
    private rowIds: number[],
  ) {}

  static create(dim: number, model: string): VectorIndex {
    return new VectorIndex(dim, model, new (faiss().IndexFlatIP)(dim), []);
  }

  get size(): number {
    return this.rowIds.length;
  }

  get ids(): readonly number[] {
    return this.rowIds;
  }

  add(ids: readonly number[], vectors: Float32Array): void {
    if (vectors.length !== ids.length * this.dim) throw new StoreError(`vector block of ${vectors.length} floats does not hold ${ids.length}×${this.dim}`);
    if (ids.length === 0) return;
    this.index.add(Array.from(vectors));
    this.rowIds.push(...ids);
  }

  /** Removes keyframes by id (rows keep their relative order). Returns how many were removed. */
  remove(ids: readonly number[]): number {
    const wanted = new Set(ids);
    const rows: number[] = [];
    this.rowIds.forEach((id, row) => {
      if (wanted.has(id)) rows.push(row);
    });
    if (rows.length === 0) return 0;
    const removed = this.index.removeIds(rows);
    this.rowIds = this.rowIds.filter((id) => !wanted.has(id));
    if (removed !== rows.length || this.index.ntotal() !== this.rowIds.length) {
      throw new StoreError('Faiss index and its row map disagree after removal');
    }
    return removed;
  }

  /** k nearest keyframes of each query vector (row-major block of n × dim). */
  search(queries: Float32Array, k: number): Neighbour[][] {
    const n = queries.length / this.dim;
    const kk = Math.min(k, this.size);
    if (kk === 0 || n === 0) return Array.from({ length: n }, () => []);
    const { distances, labels } = this.index.search(Array.from(queries), kk);
    const out: Neighbour[][] = [];
    for (let q = 0; q < n; q++) {
      const hits: Neighbour[] = [];
      for (let j = 0; j < kk; j++) {
        const label = labels[q * kk + j];
        if (label >= 0) hits.push({ id: this.rowIds[label], score: distances[q * kk + j] });
      }
      out.push(hits);
    }
    return out;
  }

  /** Writes the index atomically: temp file, fsync, rename. Returns bytes written. */
  save(file: string): number {
    const header = Buffer.from(JSON.stringify({ dim: this.dim, model: this.model, rows: this.rowIds.length }));
    const headerLength = Buffer.alloc(4);
    headerLength.writeUInt32LE(header.length);
    const ids = Buffer.from(new Float64Array(this.rowIds).buffer);
    const blob = this.index.toBuffer();
    const tmp = `${file}.tmp-${process.pid}`;
    const fd = openSync(tmp, 'w');
    try {
      for (const part of [MAGIC, headerLength, header, ids, blob]) writeSync(fd, part);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    return MAGIC.length + 4 + header.length + ids.length + blob.length;
  }

  /** Loads an index file; undefined when absent or unreadable (the caller rebuilds from the database). */
  static load(file: string): VectorIndex | undefined {
    if (!existsSync(file)) return undefined;
    try {
      const buf = readFileSync(file);
      if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
      let offset = MAGIC.length;
      const headerLength = buf.readUInt32LE(offset);
      offset += 4;
      const header = JSON.parse(buf.subarray(offset, offset + headerLength).toString('utf8')) as { dim: number; model: string; rows: number };
      offset += headerLength;
      const idBytes = buf.subarray(offset, offset + header.rows * 8);
      const ids = Array.from(new Float64Array(idBytes.buffer.slice(idBytes.byteOffset, idBytes.byteOffset + idBytes.byteLength)));
      offset += header.rows * 8;
      const index = faiss().IndexFlatIP.fromBuffer(buf.subarray(offset));
      if (index.ntotal() !== ids.length || index.getDimension() !== header.dim) return undefined;
      return new VectorIndex(header.dim, header.model, index, ids);
    } catch (e) {
      if (e instanceof StoreError) throw e;
      return undefined;
    }
  }
}
