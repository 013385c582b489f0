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
