import { MysqlAdapter, sql, type Kysely, type RawBuilder, type SelectQueryBuilder } from 'kysely';

/**
 * The one place where MySQL and SQLite differ: every known difference between the two dialects
 * is answered here, so feature code never asks which database it is on.
 */
export type Dialect = 'mysql' | 'sqlite';

export function dialectOf(db: Kysely<any>): Dialect {
  return db.getExecutor().adapter instanceof MysqlAdapter ? 'mysql' : 'sqlite';
}

/** UTC time as the database stores it: 'YYYY-MM-DD HH:MM:SS', readable in any SQL client. */
export function toDbTime(date: Date): string {
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

export function fromDbTime(value: string): Date {
  return new Date(`${value.replace(' ', 'T')}Z`);
}

/** Column type for text that may exceed 64 KB on MySQL (TEXT there stops at 64 KB). */
export function longTextType(dialect: Dialect) {
  return dialect === 'mysql' ? sql`mediumtext` : sql`text`;
}

/** Byte-wise comparison, so prefix ranges on normalised search terms use the index the same way. */
export function binaryCollation(dialect: Dialect): RawBuilder<unknown> | null {
  return dialect === 'mysql' ? sql`collate utf8mb4_bin` : null;
}

export function isDuplicateKeyError(error: unknown): boolean {
  const e = error as { code?: string; errno?: number };
  return e?.code === 'ER_DUP_ENTRY' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/**
 * The database cannot be reached or is going away (restarting, out of connections, SQLite locked
 * past its busy timeout): a failure of the moment, not of the request, so the visitor is told to
 * try again (503) rather than shown an error. mysql2 marks errors that end a connection `fatal`.
 */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'ER_QUERY_INTERRUPTED',
  'ER_LOCK_WAIT_TIMEOUT',
  'SQLITE_BUSY',
  'SQLITE_BUSY_SNAPSHOT',
  'SQLITE_LOCKED',
]);

export function isDatabaseUnavailable(error: unknown): boolean {
  const e = error as { code?: unknown; fatal?: unknown; message?: unknown };
  if (typeof e !== 'object' || e === null) return false;
  if (typeof e.code === 'string' && UNAVAILABLE_CODES.has(e.code)) return true;
  if (e.fatal === true) return true;
  // mysql2 reports a query on a connection that has just died with no code at all.
  return typeof e.message === 'string' && /connection is in closed state/i.test(e.message);
}

/** MySQL has no RETURNING: both dialects report the new id through insertId. */
export function insertedId(result: { insertId?: bigint }): number {
  if (result.insertId === undefined) throw new Error('insert did not report an id');
  return Number(result.insertId);
}

/**
 * Insert a row or, when its key exists, overwrite the given columns: ON CONFLICT on SQLite,
 * ON DUPLICATE KEY UPDATE on MySQL.
 */
export async function upsert<T extends Record<string, unknown>>(
  db: Kysely<any>,
  table: string,
  row: T,
  keyColumns: (keyof T & string)[],
  updateColumns: (keyof T & string)[],
): Promise<void> {
  const insert = db.insertInto(table).values(row);
  const updates = Object.fromEntries(updateColumns.map((c) => [c, row[c]]));
  if (dialectOf(db) === 'mysql') {
    await insert.onDuplicateKeyUpdate(updates).execute();
  } else {
    await insert.onConflict((oc) => oc.columns(keyColumns).doUpdateSet(updates)).execute();
  }
}

/**
 * A locking read on MySQL (the row is read as committed now and held until the transaction ends);
 * SQLite has a single writer, so its transactions are already serial and need no lock.
 */
export function lockingRead<Q extends SelectQueryBuilder<any, any, any>>(db: Kysely<any>, query: Q): Q {
  return dialectOf(db) === 'mysql' ? (query.forUpdate() as Q) : query;
}

/**
 * A locking read that passes over rows another transaction holds (MySQL 8 / MariaDB 10.6
 * `FOR UPDATE SKIP LOCKED`), so several workers can each claim different rows of one queue at once.
 * SQLite has one writer: the query is returned as it is, and the claim must be a conditional write.
 */
export function skipLocked<Q extends SelectQueryBuilder<any, any, any>>(db: Kysely<any>, query: Q): Q {
  return dialectOf(db) === 'mysql' ? (query.forUpdate().skipLocked() as Q) : query;
}
