import type { Db, Queryable } from './db.js';

export interface VideoRow {
  id: string;
  path: string;
  contentHash: string;
  bytes: number;
  duration: number;
  width: number;
  height: number;
  fps: number | null;
  codec: string;
  keyframeCount: number;
  model: string;
  createdAt: string;
}

export interface NewVideo extends Omit<VideoRow, 'keyframeCount' | 'createdAt'> {}

export interface KeyframeVectors {
  /** Keyframe ids, ascending. */
  ids: number[];
  times: number[];
  /** Row-major, ids.length × dim. */
  vectors: Float32Array;
}

const VIDEO_COLUMNS = `id, path, content_hash AS "contentHash", bytes::float8 AS bytes, duration, width, height, fps, codec,
  keyframe_count AS "keyframeCount", model, created_at::text AS "createdAt"`;

export function vectorToBytes(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

export function bytesToVector(b: Uint8Array): Float32Array {
  // Copy: the driver's buffer may be unaligned or pooled.
  const copy = new Uint8Array(b.byteLength);
  copy.set(b);
  return new Float32Array(copy.buffer);
}

/** Every SQL statement vidtrace runs, in one place, identical for PGlite and PostgreSQL. */
export class Repository {
  constructor(readonly db: Db) {}

  async getMeta(key: string): Promise<string | undefined> {
    const rows = await this.db.query<{ value: string }>('SELECT value FROM library_meta WHERE key = $1', [key]);
    return rows[0]?.value;
  }

  async setMetaIfAbsent(key: string, value: string): Promise<string> {
    await this.db.query('INSERT INTO library_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, value]);
    return (await this.getMeta(key)) as string;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.db.query(
      'INSERT INTO library_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value',
      [key, value],
    );
  }

  async findVideoByHash(hash: string): Promise<VideoRow | undefined> {
    const rows = await this.db.query<VideoRow>(`SELECT ${VIDEO_COLUMNS} FROM videos WHERE content_hash = $1`, [hash]);
    return rows[0];
  }

  async getVideo(id: string): Promise<VideoRow | undefined> {
    const rows = await this.db.query<VideoRow>(`SELECT ${VIDEO_COLUMNS} FROM videos WHERE id = $1`, [id]);
    return rows[0];
  }

  async getVideos(ids: readonly string[]): Promise<Map<string, VideoRow>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.query<VideoRow>(`SELECT ${VIDEO_COLUMNS} FROM videos WHERE id = ANY($1::text[])`, [ids as string[]]);
    return new Map(rows.map((r) => [r.id, r]));
  }

  async listVideos(): Promise<VideoRow[]> {
    return this.db.query<VideoRow>(`SELECT ${VIDEO_COLUMNS} FROM videos ORDER BY created_at, id`);
  }

  /** Inserts a video and all its keyframes atomically; returns the new keyframe ids in time order. */
  async insertVideoWithKeyframes(video: NewVideo, times: readonly number[], vectors: readonly Float32Array[]): Promise<number[]> {
    return this.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO videos (id, path, content_hash, bytes, duration, width, height, fps, codec, keyframe_count, model)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [video.id, video.path, video.contentHash, video.bytes, video.duration, video.width, video.height, video.fps, video.codec, times.length, video.model],
      );
      const ids: number[] = [];
      const chunk = 200;
      for (let start = 0; start < times.length; start += chunk) {
        const end = Math.min(times.length, start + chunk);
        const params: (string | number | Buffer)[] = [video.id];
        const values: string[] = [];
        for (let i = start; i < end; i++) {
          params.push(times[i], vectorToBytes(vectors[i]));
          values.push(`($1, $${params.length - 1}, $${params.length})`);
        }
        const rows = await tx.query<{ id: string }>(
          `INSERT INTO keyframes (video_id, t, vector) VALUES ${values.join(', ')} RETURNING id`,
          params,
        );
        ids.push(...rows.map((r) => Number(r.id)));
      }
      return ids;
    });
  }

  /** Deletes a video and its keyframes; returns the deleted keyframe ids. */
  async deleteVideo(id: string): Promise<number[] | undefined> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<{ id: string }>('SELECT id FROM keyframes WHERE video_id = $1 ORDER BY id', [id]);
      const deleted = await tx.query('DELETE FROM videos WHERE id = $1 RETURNING id', [id]);
      if (deleted.length === 0) return undefined;
      return rows.map((r) => Number(r.id));
    });
  }

  async keyframeIds(): Promise<number[]> {
    const rows = await this.db.query<{ id: string }>('SELECT id FROM keyframes ORDER BY id');
    return rows.map((r) => Number(r.id));
  }

  /** Vectors of keyframes with id greater than `afterId` (all when undefined), ascending by id. */
  async keyframeVectorsAfter(afterId: number, dim: number): Promise<KeyframeVectors> {
    const rows = await this.db.query<{ id: string; t: number; vector: Uint8Array }>(
      'SELECT id, t, vector FROM keyframes WHERE id > $1 ORDER BY id',
      [afterId],
    );
    return collect(rows, dim);
  }

  async videoKeyframes(videoId: string, dim: number): Promise<KeyframeVectors> {
    const rows = await this.db.query<{ id: string; t: number; vector: Uint8Array }>(
      'SELECT id, t, vector FROM keyframes WHERE video_id = $1 ORDER BY t, id',
      [videoId],
    );
    return collect(rows, dim);
  }

  /** Maps keyframe ids to (video, time). */
  async keyframeOwners(ids: readonly number[]): Promise<Map<number, { videoId: string; t: number }>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.query<{ id: string; video_id: string; t: number }>(
      'SELECT id, video_id, t FROM keyframes WHERE id = ANY($1::bigint[])',
      [ids.map(String)],
    );
    return new Map(rows.map((r) => [Number(r.id), { videoId: r.video_id, t: r.t }]));
  }

  async stats(): Promise<{ videos: number; seconds: number; keyframes: number }> {
    const [v] = await this.db.query<{ videos: string; seconds: number | null; keyframes: string | null }>(
      'SELECT count(*) AS videos, sum(duration) AS seconds, sum(keyframe_count) AS keyframes FROM videos',
    );
    return { videos: Number(v.videos), seconds: Number(v.seconds ?? 0), keyframes: Number(v.keyframes ?? 0) };
  }

  /** Videos whose keyframes do not all have a `model` vector in keyframe_vectors_next yet. */
  async videosPendingReindex(model: string): Promise<VideoRow[]> {
    return this.db.query<VideoRow>(
      `SELECT ${VIDEO_COLUMNS} FROM videos v
       WHERE EXISTS (SELECT 1 FROM keyframes k LEFT JOIN keyframe_vectors_next n ON n.keyframe_id = k.id AND n.model = $1
                     WHERE k.video_id = v.id AND n.keyframe_id IS NULL)
       ORDER BY created_at, id`,
      [model],
    );
  }

  async keyframeTimes(videoId: string): Promise<{ id: number; t: number }[]> {
    const rows = await this.db.query<{ id: string; t: number }>('SELECT id, t FROM keyframes WHERE video_id = $1 ORDER BY t, id', [videoId]);
    return rows.map((r) => ({ id: Number(r.id), t: Number(r.t) }));
  }

  /** Stores one video's new vectors atomically (replacing any partial earlier attempt). */
  async saveNextVectors(model: string, ids: readonly number[], vectors: readonly Float32Array[]): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query('DELETE FROM keyframe_vectors_next WHERE keyframe_id = ANY($1::bigint[])', [ids.map(String)]);
      for (let start = 0; start < ids.length; start += 200) {
        const params: (string | number | Buffer)[] = [model];
        const values: string[] = [];
        for (let i = start; i < Math.min(ids.length, start + 200); i++) {
          params.push(ids[i], vectorToBytes(vectors[i]));
          values.push(`($${params.length - 1}, $1, $${params.length})`);
        }
        await tx.query(`INSERT INTO keyframe_vectors_next (keyframe_id, model, vector) VALUES ${values.join(', ')}`, params);
      }
    });
  }

  /** Moves every keyframe to the new encoder's vector and records the new model, all at once. */
  async swapInNextVectors(model: string): Promise<number> {
    return this.db.transaction(async (tx) => {
      const [missing] = await tx.query<{ n: string }>(
        `SELECT count(*) AS n FROM keyframes k LEFT JOIN keyframe_vectors_next n ON n.keyframe_id = k.id AND n.model = $1
         WHERE n.keyframe_id IS NULL`,
        [model],
      );
      if (Number(missing.n) > 0) throw new Error(`${missing.n} keyframe(s) have no ${model} vector yet`);
      const updated = await tx.query(
        `UPDATE keyframes k SET vector = n.vector FROM keyframe_vectors_next n
         WHERE n.keyframe_id = k.id AND n.model = $1 RETURNING k.id`,
        [model],
      );
      await tx.query('UPDATE videos SET model = $1', [model]);
      await tx.query(
        `INSERT INTO library_meta (key, value) VALUES ('model', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
        [model],
      );
      await tx.query('DELETE FROM keyframe_vectors_next');
      return updated.length;
    });
  }

  async saveResult(id: string, queryPath: string, report: object): Promise<void> {
    await this.db.query('INSERT INTO results (id, query_path, report) VALUES ($1, $2, $3)', [id, queryPath, JSON.stringify(report)]);
  }
}

function collect(rows: { id: string; t: number; vector: Uint8Array }[], dim: number): KeyframeVectors {
  const vectors = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => vectors.set(bytesToVector(r.vector), i * dim));
  return { ids: rows.map((r) => Number(r.id)), times: rows.map((r) => Number(r.t)), vectors };
}

export type { Queryable };
