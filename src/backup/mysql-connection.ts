import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createConnection, type Connection } from 'mysql2/promise';
import { mysqlDatabaseName } from '../db/database.js';

/** Where the MySQL client tools should connect, read from DATABASE_URL. */
export interface MysqlEndpoint {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

export function mysqlEndpoint(url: string): MysqlEndpoint {
  const parsed = new URL(url);
  return {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 3306,
    user: decodeURIComponent(parsed.username || 'root'),
    password: decodeURIComponent(parsed.password),
    database: mysqlDatabaseName(url),
  };
}

/** A connection for dumping and restoring: times and numbers come back exactly as stored. */
export function connectForBackup(url: string): Promise<Connection> {
  return createConnection({
    uri: url,
    dateStrings: true,
    timezone: 'Z',
    charset: 'utf8mb4_unicode_ci',
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
  });
}

/** Runs `use` on a backup connection, which is closed afterwards whatever happens. */
export async function withBackupConnection<T>(url: string, use: (connection: Connection) => Promise<T>): Promise<T> {
  const connection = await connectForBackup(url);
  try {
    return await use(connection);
  } finally {
    await connection.end();
  }
}

/** Base tables and views of the database, views last (they are made after the tables they read). */
export async function listMysqlTables(connection: Connection): Promise<{ name: string; view: boolean }[]> {
  const [rows] = await connection.query(
    `select table_name as name, table_type as type from information_schema.tables where table_schema = database() order by table_type = 'VIEW', table_name`,
  );
  return (rows as { name: string; type: string }[]).map((r) => ({ name: r.name, view: r.type === 'VIEW' }));
}

/**
 * Runs a MySQL client tool (mysqldump, mysql, their mariadb names) on the database of `url`, the
 * password in a private option file, while `use` feeds or drains its streams. Resolves once both
 * are done, with the exit code and the end of what the tool wrote to stderr (its error message).
 */
export async function runClientTool<T>(
  url: string,
  program: string,
  args: string[],
  stdio: StdioOptions,
  use: (child: ChildProcess) => Promise<T>,
): Promise<{ code: number | null; stderr: string; result: T }> {
  const endpoint = mysqlEndpoint(url);
  const defaults = writeDefaultsFile(endpoint);
  try {
    const child = spawn(program, [`--defaults-extra-file=${defaults.file}`, ...args, endpoint.database], { stdio });
    let stderr = '';
    child.stderr?.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    const exited = new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    const [code, result] = await Promise.all([exited, use(child)]);
    return { code, stderr: stderr.trim(), result };
  } finally {
    defaults.dispose();
  }
}

/** The first of the named programs found on PATH, or null. */
export function findProgram(names: string[]): string | null {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const name of names) {
    for (const dir of dirs) {
      const candidate = path.join(dir, name);
      try {
        fs.accessSync(candidate, fs.constants.X_OK);
        if (fs.statSync(candidate).isFile()) return candidate;
      } catch {
        // not here; look further along PATH
      }
    }
  }
  return null;
}

/**
 * A `[client]` option file in a private temporary folder, so the password reaches the client
 * tools without appearing on a command line (visible to every user in `ps`). `dispose` deletes it.
 */
export function writeDefaultsFile(endpoint: MysqlEndpoint): { file: string; dispose(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-mysql-'));
  const file = path.join(dir, 'client.cnf');
  const quote = (value: string) => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const lines = ['[client]', `host=${quote(endpoint.host)}`, `port=${endpoint.port}`, `user=${quote(endpoint.user)}`];
  if (endpoint.password) lines.push(`password=${quote(endpoint.password)}`);
  fs.writeFileSync(file, lines.join('\n') + '\n', { mode: 0o600 });
  return { file, dispose: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export type MysqlMethod = 'auto' | 'client' | 'driver';

/** Resolves `auto` to the client tools when they are installed, else the driver. */
export function chooseMethod(method: MysqlMethod, programs: string[]): { method: 'client'; program: string } | { method: 'driver' } {
  if (method === 'driver') return { method: 'driver' };
  const program = findProgram(programs);
  if (program) return { method: 'client', program };
  if (method === 'client') throw new Error(`--method client needs one of ${programs.join(', ')} on PATH`);
  return { method: 'driver' };
}
