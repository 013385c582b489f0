import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createConnection } from 'mysql2/promise';
import { freePort } from './smtp.js';

const run = promisify(execFile);
export const MARIADBD = process.env.MARIADBD_PATH ?? '/usr/sbin/mariadbd';
export const INSTALL_DB = process.env.MARIADB_INSTALL_DB_PATH ?? '/usr/bin/mariadb-install-db';

/** Why a private MariaDB cannot be started here, or null when it can. */
export function privateMariadbUnavailable(): string | null {
  for (const binary of [MARIADBD, INSTALL_DB])
    if (!fs.existsSync(binary)) return `${binary} is not installed (apt-get install mariadb-server)`;
  return null;
}

/**
 * A MariaDB server of this test's own (a temporary data directory, a free port, root without a
 * password on loopback), so the test can kill and restart it without touching the shared server
 * other test files use.
 */
export interface PrivateMariadb {
  port: number;
  /** mysql://root@127.0.0.1:PORT/ */
  serverUrl: string;
  /** kill -9: the server vanishes mid-query, as in a crash or a failover. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data (InnoDB recovers what was committed). */
  start(): Promise<void>;
  /** Kills it and deletes its data. */
  destroy(): Promise<void>;
}

export async function startPrivateMariadb(): Promise<PrivateMariadb> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-mariadb-'));
  const dataDir = path.join(dir, 'data');
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];
  await run(INSTALL_DB, ['--no-defaults', `--datadir=${dataDir}`, '--auth-root-authentication-method=normal', '--skip-test-db', ...asRoot]);
  const port = await freePort();
  const serverUrl = `mysql://root@127.0.0.1:${port}/`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let log = '';

  async function start(): Promise<void> {
    child = spawn(
      MARIADBD,
      [
        '--no-defaults',
        `--datadir=${dataDir}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        `--socket=${path.join(dir, 'mysqld.sock')}`,
        `--pid-file=${path.join(dir, 'mysqld.pid')}`,
        '--skip-name-resolve',
        '--skip-log-bin',
        '--innodb-buffer-pool-size=32M',
        '--max-connections=200',
        ...asRoot,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (d) => (log += d));
    child.stderr!.on('data', (d) => (log += d));
    const current = child;
    exited = new Promise((resolve) => current.once('exit', () => resolve()));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const connection = await createConnection({ uri: serverUrl, connectTimeout: 1000 }).catch(() => undefined);
      if (connection) {
        await connection.end();
        return;
      }
      if (current.exitCode !== null || Date.now() > deadline) throw new Error(`the private MariaDB did not start:\n${log.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  await start();
  return {
    port,
    serverUrl,
    async kill() {
      child?.kill('SIGKILL');
      await exited;
    },
    start,
    async destroy() {
      child?.kill('SIGKILL');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
