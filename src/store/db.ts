/**
 * The only module that imports a database driver. Two back ends behind one small interface:
 * PGlite (embedded PostgreSQL, the default) and `pg` (a real server, when DATABASE_URL is set).
 * Both run the same SQL files.
 */
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { StoreError } from '../errors.js';

export type SqlValue = string | number | boolean | null | Buffer | Uint8Array | Date | object;

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
}

export interface Db extends Queryable {
  readonly kind: 'embedded' | 'postgres';
  /** Runs `fn` in one transaction: all of it commits or none of it does. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs a script of several statements (migrations). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

function wrap(e: unknown, sql: string): never {
  const message = e instanceof Error ? e.message : String(e);
  throw new StoreError(`database error: ${message} (in: ${sql.replace(/\s+/g, ' ').slice(0, 120)})`, { cause: e });
}

export async function openEmbeddedDb(dir: string): Promise<Db> {
  mkdirSync(dir, { recursive: true });
  let db: PGlite;
  try {
    db = await PGlite.create(dir);
  } catch (e) {
    throw new StoreError(`cannot open the embedded database in ${dir}: ${(e as Error).message}`, { cause: e });
  }
  const run = async <T>(q: { query: PGlite['query'] }, sql: string, params?: readonly SqlValue[]): Promise<T[]> => {
    try {
      const res = await q.query<T>(sql, params as unknown[] | undefined);
      return res.rows;
    } catch (e) {
      return wrap(e, sql);
    }
  };
  return {
    kind: 'embedded',
    query: (sql, params) => run(db, sql, params),
    transaction: (fn) => db.transaction((tx) => fn({ query: (sql, params) => run(tx, sql, params) })),
    exec: async (sql) => {
      try {
        await db.exec(sql);
      } catch (e) {
        wrap(e, sql);
      }
    },
    close: () => db.close(),
  };
}

export async function openPostgresDb(url: string): Promise<Db> {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on('error', () => {
    /* idle client errors surface on the next query */
  });
  try {
    await pool.query('SELECT 1');
  } catch (e) {
    await pool.end();
    throw new StoreError(`cannot connect to PostgreSQL at ${url.replace(/\/\/[^@]*@/, '//***@')}: ${(e as Error).message}`, { cause: e });
  }
  const run = async <T>(q: pg.Pool | pg.PoolClient, sql: string, params?: readonly SqlValue[]): Promise<T[]> => {
    try {
      const res = await q.query(sql, params as unknown[] | undefined);
      return res.rows as T[];
    } catch (e) {
      return wrap(e, sql);
    }
  };
  return {
    kind: 'postgres',
    query: (sql, params) => run(pool, sql, params),
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn({ query: (sql, params) => run(client, sql, params) });
        await client.query('COMMIT');
        return result;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {});
        throw e;
      } finally {
        client.release();
      }
    },
    exec: async (sql) => {
      try {
        await pool.query(sql);
      } catch (e) {
        wrap(e, sql);
      }
    },
    close: () => pool.end(),
  };
}
