import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createConnection } from 'mysql2/promise';
import { inject } from 'vitest';
import type { DatabaseTarget } from '../../src/config.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../../src/db/database.js';

export type DatabaseKind = 'sqlite' | 'mysql';

/** The databases this run can test against; each entry carries why it is skipped, if it is. */
export function databaseKinds(): { kind: DatabaseKind; skip: boolean }[] {
  return [
    { kind: 'sqlite', skip: false },
    { kind: 'mysql', skip: inject('mysqlServerUrl') === null },
  ];
}

export interface TestDatabase extends DatabaseHandle {
  target: DatabaseTarget;
  url: string;
  /** Closes the connection and deletes the database. */
  drop(): Promise<void>;
}

/** A fresh database of its own for one test file, migrated unless `migrated: false` (for tests of migrating). */
export async function createTestDatabase(kind: DatabaseKind, { migrated = true } = {}): Promise<TestDatabase> {
  const name = `store_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  if (kind === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-db-'));
    const file = path.join(dir, `${name}.sqlite`);
    const target: DatabaseTarget = { kind: 'sqlite', file };
    const handle = await openDatabase(target);
    if (migrated) await migrateToLatest(handle.db);
    return { ...handle, target, url: file, drop: async () => (await handle.close(), fs.rmSync(dir, { recursive: true, force: true })) };
  }
  const server = inject('mysqlServerUrl');
  if (!server) throw new Error('MySQL is not available in this run');
  const url = new URL(name, server).toString();
  const target: DatabaseTarget = { kind: 'mysql', url };
  const handle = await openDatabase(target);
  if (migrated) await migrateToLatest(handle.db);
  return {
    ...handle,
    target,
    url,
    drop: async () => {
      await handle.close();
      const connection = await createConnection({ uri: server });
      await connection.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await connection.end();
    },
  };
}
