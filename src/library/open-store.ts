import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { openEmbeddedDb, openPostgresDb, type Db } from '../store/db.js';
import { migrate } from '../store/migrate.js';
import { Repository } from '../store/repository.js';
import { acquireStoreLock } from './store-lock.js';

export interface OpenStore {
  db: Db;
  repo: Repository;
  close(): Promise<void>;
}

/** Opens a library's database (embedded under the store folder, or PostgreSQL), migrated, locked. */
export async function openStore(config: Config): Promise<OpenStore> {
  mkdirSync(config.storeDir, { recursive: true });
  const releaseLock = config.databaseUrl ? () => {} : acquireStoreLock(path.join(config.storeDir, 'store.lock'));
  let db: Db | undefined;
  try {
    db = config.databaseUrl ? await openPostgresDb(config.databaseUrl) : await openEmbeddedDb(path.join(config.storeDir, 'db'));
    await migrate(db);
  } catch (e) {
    await db?.close().catch(() => {});
    releaseLock();
    throw e;
  }
  const opened = db;
  return {
    db: opened,
    repo: new Repository(opened),
    async close() {
      try {
        await opened.close();
      } finally {
        releaseLock();
      }
    },
  };
}
