import readline from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { escapeId } from 'mysql2';
import { gunzipStream } from './compression.js';
import { connectForBackup, listMysqlTables, runClientTool, withBackupConnection } from './mysql-connection.js';
import { SqlSplitter } from './sql-splitter.js';

/** The tables and views already in the target database. */
export function existingMysqlTables(url: string): Promise<{ name: string; view: boolean }[]> {
  return withBackupConnection(url, listMysqlTables);
}

/** For `restore --force`: drops every view and table, so the backup is restored into an empty database. */
export async function emptyMysqlDatabase(url: string): Promise<void> {
  const tables = await existingMysqlTables(url);
  const connection = await connectForBackup(url);
  try {
    await connection.query('SET FOREIGN_KEY_CHECKS = 0');
    for (const view of tables.filter((t) => t.view)) await connection.query(`DROP VIEW IF EXISTS ${escapeId(view.name)}`);
    for (const table of tables.filter((t) => !t.view)) await connection.query(`DROP TABLE IF EXISTS ${escapeId(table.name)}`);
  } finally {
    await connection.end();
  }
}

/** Feeds the dump to the mysql/mariadb client; its error (statement and line) is passed on. */
export async function restoreWithClient(url: string, program: string, file: string, onBytes: (n: number) => void): Promise<void> {
  const { code, stderr } = await runClientTool(url, program, ['--default-character-set=utf8mb4'], ['pipe', 'ignore', 'pipe'], (child) =>
    // If the client dies early its stdin closes: the exit code and message are the real story.
    pipeline(gunzipStream(file, onBytes), child.stdin!).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    }),
  );
  if (code !== 0) throw new Error(`${program} could not restore the backup: ${stderr || `exit ${code}`}`);
}

/** ER_EMPTY_QUERY: a statement that is only a version comment newer than the server. */
const EMPTY_QUERY = 1065;

/** Runs the dump statement by statement over one connection (session settings carry through). */
export async function restoreWithDriver(url: string, file: string, onBytes: (n: number) => void): Promise<number> {
  const connection = await connectForBackup(url);
  const splitter = new SqlSplitter();
  let count = 0;
  let lineNumber = 0;
  const run = async (statement: string) => {
    try {
      await connection.query(statement);
      count++;
    } catch (error) {
      if ((error as { errno?: number }).errno === EMPTY_QUERY) return;
      throw new Error(`the statement ending at line ${lineNumber} of the backup failed: ${(error as Error).message}`);
    }
  };
  try {
    const lines = readline.createInterface({ input: gunzipStream(file, onBytes), crlfDelay: Infinity });
    for await (const line of lines) {
      lineNumber++;
      for (const statement of splitter.line(line)) await run(statement);
    }
    for (const statement of splitter.end()) await run(statement);
    return count;
  } finally {
    await connection.end();
  }
}
