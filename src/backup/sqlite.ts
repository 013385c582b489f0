import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import SqliteDatabase from 'better-sqlite3';
import { gunzipStream, gzipInto, syncFile } from './compression.js';

export interface SqliteCopyStats {
  tables: number;
  rows: number;
}

/** Pages copied per step of the online backup: small steps let the store write in between. */
const PAGES_PER_STEP = 256;

/**
 * SQLite's online backup API copies the live database page by page into `copyFile`; if the store
 * writes meanwhile the copy restarts, so the result is one consistent state. Then it is gzipped.
 */
export async function backupSqlite(
  databaseFile: string,
  copyFile: string,
  archiveFile: string,
  callbacks: { onPages: (done: number, total: number) => void; onBytes: (total: number) => void },
): Promise<SqliteCopyStats> {
  if (!fs.existsSync(databaseFile)) throw new Error(`there is no database at ${databaseFile}`);
  const source = new SqliteDatabase(databaseFile, { readonly: true, fileMustExist: true });
  source.pragma('busy_timeout = 5000');
  try {
    await source.backup(copyFile, {
      progress: ({ totalPages, remainingPages }) => {
        callbacks.onPages(totalPages - remainingPages, totalPages);
        return PAGES_PER_STEP;
      },
    });
  } finally {
    source.close();
  }
  const stats = countRows(copyFile);
  await gzipInto(fs.createReadStream(copyFile), archiveFile, callbacks.onBytes);
  return stats;
}

/** Tables and rows of a SQLite file, and a check that it is one (a damaged file fails here). */
export function countRows(file: string): SqliteCopyStats {
  const db = new SqliteDatabase(file, { readonly: true, fileMustExist: true });
  try {
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new Error(`the database in the backup is damaged (${String(check)})`);
    const tables = db.prepare(`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`).pluck().all() as string[];
    let rows = 0;
    for (const table of tables)
      rows += Number(
        db
          .prepare(`select count(*) from "${table.replace(/"/g, '""')}"`)
          .pluck()
          .get(),
      );
    return { tables: tables.length, rows };
  } finally {
    db.close();
  }
}

/** The tables in a SQLite file (none when there is no file yet). */
export function existingSqliteTables(file: string): string[] {
  if (!fs.existsSync(file)) return [];
  const db = new SqliteDatabase(file, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare(`select name from sqlite_master where type in ('table', 'view') and name not like 'sqlite_%'`)
      .pluck()
      .all() as string[];
  } finally {
    db.close();
  }
}

/** Unpacks a backup into `temporaryFile` and checks it is a sound SQLite database. */
export async function unpackSqlite(archiveFile: string, temporaryFile: string, onBytes: (n: number) => void): Promise<SqliteCopyStats> {
  await pipeline(gunzipStream(archiveFile, onBytes), fs.createWriteStream(temporaryFile, { mode: 0o600 }));
  await syncFile(temporaryFile);
  try {
    return countRows(temporaryFile);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT')
      throw new Error(`${archiveFile} does not hold a SQLite database (${(error as Error).message})`);
    throw error;
  }
}

/**
 * Puts the unpacked database in place of `databaseFile`. The old file's WAL and shared-memory
 * files go too: left beside the new file they would be replayed into it.
 */
export function replaceSqliteFile(temporaryFile: string, databaseFile: string): void {
  for (const suffix of ['-wal', '-shm', '-journal']) fs.rmSync(databaseFile + suffix, { force: true });
  fs.renameSync(temporaryFile, databaseFile);
}
