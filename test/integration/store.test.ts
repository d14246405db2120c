import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { openEmbeddedDb, openPostgresDb, type Db } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrate.js';
import { Repository } from '../../src/store/repository.js';
import { StoreError } from '../../src/errors.js';
import { tempDir } from '../helpers/fixtures.js';
import { freshPostgresDatabase } from '../helpers/postgres.js';

const tmp = tempDir();
after(() => tmp.cleanup());

function unit(values: number[]): Float32Array {
  const v = new Float32Array(values);
  const n = Math.hypot(...values);
  return v.map((x) => x / n);
}

const backends: { name: string; open: () => Promise<{ db: Db; done: () => Promise<void> }> }[] = [
  {
    name: 'embedded (PGlite)',
    open: async () => {
      const db = await openEmbeddedDb(path.join(tmp.dir, 'pglite'));
      return { db, done: () => db.close() };
    },
  },
  {
    name: 'PostgreSQL 127.0.0.1:5432',
    open: async () => {
      const fresh = await freshPostgresDatabase();
      const db = await openPostgresDb(fresh.url);
      return { db, done: async () => { await db.close(); await fresh.drop(); } };
    },
  },
];

for (const backend of backends) {
  describe(`store on ${backend.name}`, () => {
    test('migrations, video + keyframe round trip, stats, cascade delete, atomicity', async () => {
      const { db, done } = await backend.open();
      try {
        assert.deepEqual(await migrate(db), ['001_init.sql', '002_reindex.sql']);
        assert.deepEqual(await migrate(db), [], 'migrations run once');

        const repo = new Repository(db);
        assert.equal(await repo.setMetaIfAbsent('model', 'm@1/3'), 'm@1/3');
        assert.equal(await repo.setMetaIfAbsent('model', 'other'), 'm@1/3', 'first writer wins');

        const video = { id: 'v1', path: '/a.mp4', contentHash: 'h1', bytes: 10, duration: 3.5, width: 4, height: 2, fps: 25, codec: 'h264', model: 'm@1/3' };
        const vectors = [unit([1, 0, 0]), unit([0, 1, 0]), unit([1, 1, 0])];
        const ids = await repo.insertVideoWithKeyframes(video, [0, 1, 2], vectors);
        assert.equal(ids.length, 3);
        assert.ok(ids[0] < ids[1] && ids[1] < ids[2]);

        const stored = await repo.videoKeyframes('v1', 3);
        assert.deepEqual(stored.times, [0, 1, 2]);
        assert.deepEqual(Array.from(stored.vectors.subarray(6, 9)), Array.from(vectors[2]), 'vectors survive bytea exactly');
        assert.equal((await repo.findVideoByHash('h1'))?.id, 'v1');
        assert.equal((await repo.getVideo('v1'))?.keyframeCount, 3);
        const owners = await repo.keyframeOwners(ids);
        assert.deepEqual(owners.get(ids[1]), { videoId: 'v1', t: 1 });
        assert.deepEqual(await repo.stats(), { videos: 1, seconds: 3.5, keyframes: 3 });

        // A duplicate content hash fails the whole transaction: no half-written keyframes.
        await assert.rejects(
          repo.insertVideoWithKeyframes({ ...video, id: 'v2' }, [0], [unit([0, 0, 1])]),
          StoreError,
        );
        assert.equal((await repo.keyframeIds()).length, 3);

        const deleted = await repo.deleteVideo('v1');
        assert.deepEqual(deleted, ids);
        assert.deepEqual(await repo.keyframeIds(), [], 'keyframes cascade');
        assert.equal(await repo.deleteVideo('v1'), undefined);
        assert.deepEqual(await repo.stats(), { videos: 0, seconds: 0, keyframes: 0 });
      } finally {
        await done();
      }
    });
  });
}

test('processes starting together on one PostgreSQL database migrate it exactly once', async () => {
  const fresh = await freshPostgresDatabase();
  const dbs = await Promise.all([1, 2, 3].map(() => openPostgresDb(fresh.url)));
  try {
    const results = await Promise.all(dbs.map((db) => migrate(db)));
    assert.deepEqual(results.map((r) => r.length).sort(), [0, 0, 2]);
    const rows = await dbs[0].query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name');
    assert.deepEqual(rows.map((r) => r.name), ['001_init.sql', '002_reindex.sql']);
  } finally {
    await Promise.all(dbs.map((db) => db.close()));
    await fresh.drop();
  }
});
