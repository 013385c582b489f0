import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { Migrator, sql } from 'kysely';
import { createConnection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrations } from '../../migrations/index.js';
import { addAffiliate } from '../../src/affiliates/repository.js';
import { DumpInspector } from '../../src/backup/dump-inspector.js';
import { SqlSplitter } from '../../src/backup/sql-splitter.js';
import type { DatabaseTarget } from '../../src/config.js';
import { openDatabase, type Db } from '../../src/db/database.js';
import { createTestDatabase, databaseKinds, type DatabaseKind } from '../helpers/databases.js';
import { Shopper } from '../helpers/shopper.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

const run = promisify(execFile);
const STORE_BIN = path.resolve('bin/store.js');

type Snapshot = Record<string, unknown[]>;

/**
 * Backup and restore as an operator runs them: real processes against a store with real data,
 * the original wiped, the backup restored into a new empty database and compared row for row.
 */
describe.each(databaseKinds())('backup and restore on $kind', ({ kind, skip }) => {
  const extension = kind === 'sqlite' ? '.sqlite.gz' : '.sql.gz';
  let store: TestStore;
  let workDir: string;
  let backupDir: string;
  let before: Snapshot;
  /** The backups made while the store ran, by how they were made. */
  const backups: Record<string, string> = {};
  let backupOutput = '';
  let mediaFiles: { path: string; size: number; sha256: string }[];
  const targets: DatabaseTarget[] = [];

  const env = (databaseUrl: string) => ({
    ...process.env,
    DATABASE_URL: databaseUrl,
    DATA_DIR: workDir,
    LOG_LEVEL: 'warn',
    NODE_ENV: 'development',
    CI: '',
  });
  const storeCommand = (databaseUrl: string, args: string[]) => run('node', [STORE_BIN, ...args], { env: env(databaseUrl) });
  const failingCommand = async (databaseUrl: string, args: string[]) => {
    const failed = await storeCommand(databaseUrl, args).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed.code).toBe(1);
    expect(failed.stderr).not.toMatch(/\bat .*\.ts:\d+|node:internal/);
    return failed.stderr;
  };

  /** A new, empty database to restore into (MySQL: not created yet; restore creates it). */
  const emptyTarget = (): { url: string; target: DatabaseTarget } => {
    const name = `store_restore_${process.pid}_${randomBytes(4).toString('hex')}`;
    const target: DatabaseTarget =
      kind === 'sqlite'
        ? { kind, file: path.join(fs.mkdtempSync(path.join(workDir, 'restore-')), `${name}.sqlite`) }
        : { kind, url: new URL(name, inject('mysqlServerUrl')!).toString() };
    targets.push(target);
    return { url: target.kind === 'sqlite' ? target.file : target.url, target };
  };

  beforeAll(async () => {
    if (skip) return;
    store = await startTestStore(kind);
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-backup-'));
    backupDir = path.join(workDir, 'backups');
    await makeRealData(store);
    before = await snapshot(store.database.db, kind);
    mediaFiles = listMedia(store.config.mediaDir);

    // Backups of the running store, as real processes.
    const methods = kind === 'mysql' ? ['client', 'driver'] : ['online'];
    for (const method of methods) {
      const args = ['backup', backupDir, ...(kind === 'mysql' ? ['--method', method] : [])];
      const { stdout } = await run('node', [STORE_BIN, ...args], { env: { ...env(store.database.url), MEDIA_DIR: store.config.mediaDir } });
      backupOutput += stdout;
      backups[method] = /Backup written: (\S+)/.exec(stdout)![1]!;
    }
    // Nothing changed the store meanwhile, so every backup must equal this one state.
    expect(await snapshot(store.database.db, kind)).toEqual(before);
    // Wipe: the original database and its media are gone.
    await store.close();
    store = undefined as unknown as TestStore;
  }, 240_000);

  afterAll(async () => {
    await store?.close();
    for (const target of targets) await dropTarget(target);
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  it.skipIf(skip)('writes a timestamped, compressed backup and a manifest of every media file, with a summary', async () => {
    for (const file of Object.values(backups)) {
      expect(path.basename(file)).toMatch(new RegExp(`^store-\\d{8}T\\d{6}Z${extension.replace(/\./g, '\\.')}$`));
      expect(fs.readFileSync(file).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
      const manifest = JSON.parse(fs.readFileSync(file.replace(extension, '.media.json'), 'utf8'));
      expect(manifest.files).toEqual(mediaFiles);
      expect(manifest.fileCount).toBeGreaterThan(10);
    }
    // Nothing is left under a temporary name.
    expect(fs.readdirSync(backupDir).filter((name) => name.startsWith('.'))).toEqual([]);
    const tableRows = Object.entries(before)
      .filter(([name]) => !isView(name))
      .reduce((sum, [, rows]) => sum + rows.length, 0);
    const tables = Object.keys(before).length;
    // SQLite's count is of tables (views are part of the schema); a dump counts views too.
    const expectedTables = kind === 'sqlite' ? Object.keys(before).filter((t) => !isView(t)).length : tables;
    expect(backupOutput).toMatch(new RegExp(`Tables: ${expectedTables}, rows: ${tableRows}, time: `));
    expect(backupOutput).toContain('the media files themselves are not in the backup');
  });

  const restoreCases =
    kind === 'mysql'
      ? [
          ['client', 'client'],
          ['driver', 'driver'],
          ['client', 'driver'],
        ]
      : [['online', 'auto']];
  it.skipIf(skip).each(restoreCases)(
    'restores the %s backup through the %s into an empty database, equal row for row, views included',
    async (made, method) => {
      const { url, target } = emptyTarget();
      const { stdout } = await storeCommand(url, ['restore', backups[made]!, '--method', method!]);
      expect(stdout).toContain('Restored');
      if (kind === 'mysql') expect(stdout).toContain(`through ${method === 'driver' ? 'driver' : 'mariadb'}`);
      const restored = await openDatabase(target);
      try {
        expect(await snapshot(restored.db, kind)).toEqual(before);
        const overview = await sql<Record<string, unknown>>`select * from order_overview order by reference`.execute(restored.db);
        expect(overview.rows).toEqual(before.order_overview);
        expect(overview.rows.filter((r) => r.status === 'paid').length).toBeGreaterThanOrEqual(2);
      } finally {
        await restored.close();
      }
    },
  );

  it.skipIf(skip)('refuses to restore into a database that has tables, and with --force replaces everything in it', async () => {
    const occupied = await createTestDatabase(kind);
    targets.push(occupied.target);
    await occupied.close();
    const stderr = await failingCommand(occupied.url, ['restore', Object.values(backups)[0]!]);
    expect(stderr).toMatch(/already holds \d+ tables and views: restore only into an empty database, or pass --force/);

    await storeCommand(occupied.url, ['restore', '--force', Object.values(backups).at(-1)!]);
    const restored = await openDatabase(occupied.target);
    try {
      expect(await snapshot(restored.db, kind)).toEqual(before);
    } finally {
      await restored.close();
    }
  });

  it.skipIf(skip)('refuses a truncated or corrupt backup with a clear message, leaving the database untouched', async () => {
    const damagedDir = fs.mkdtempSync(path.join(workDir, 'damaged-'));
    const whole = fs.readFileSync(Object.values(backups)[0]!);
    const truncated = path.join(damagedDir, `store-20200101T000000Z${extension}`);
    fs.writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length / 2)));
    const garbage = path.join(damagedDir, `store-20200102T000000Z${extension}`);
    fs.writeFileSync(garbage, randomBytes(5000));
    const notADatabase = path.join(damagedDir, `store-20200103T000000Z${extension}`);
    fs.writeFileSync(notADatabase, zlib.gzipSync('just some text, not a database dump\n'));

    for (const file of [truncated, garbage]) {
      const { url, target } = emptyTarget();
      expect(await failingCommand(url, ['restore', file])).toContain(
        'is not a complete backup: the compressed data is truncated or corrupt',
      );
      expect(await tableCount(target)).toBe(0);
    }
    const { url, target } = emptyTarget();
    expect(await failingCommand(url, ['restore', notADatabase])).toMatch(
      kind === 'sqlite' ? /does not hold a SQLite database/ : /does not end with its completion line/,
    );
    expect(await tableCount(target)).toBe(0);
  });

  it.skipIf(skip)('brings a backup from an older version up to the latest schema after restoring it', async () => {
    const { url: oldUrl, target: oldTarget } = emptyTarget();
    const old = await openDatabase(oldTarget);
    try {
      const migrator = new Migrator({ db: old.db, provider: { getMigrations: async () => migrations } });
      const { error } = await migrator.migrateTo('003_orders');
      expect(error).toBeUndefined();
    } finally {
      await old.close();
    }
    const dir = fs.mkdtempSync(path.join(workDir, 'old-'));
    const { stdout: written } = await run('node', [STORE_BIN, 'backup', dir, '--no-progress'], {
      env: { ...env(oldUrl), MEDIA_DIR: path.join(workDir, 'no-media') },
    });
    const file = /Backup written: (\S+)/.exec(written)![1]!;

    const { url, target } = emptyTarget();
    const { stdout } = await storeCommand(url, ['restore', file]);
    const later = Object.keys(migrations).filter((name) => name > '003_orders');
    expect(stdout).toContain(`Migrations applied since the backup: ${later.join(', ')}`);
    expect(await tableCount(target)).toBeGreaterThan(0);
    const restored = await openDatabase(target);
    try {
      expect(await restored.db.selectFrom('outbox').select('id').execute()).toEqual([]);
    } finally {
      await restored.close();
    }
  });

  it.skipIf(skip)(
    'keeps the newest N backups of its kind, deleting older ones and their manifests only after the new one is complete',
    async () => {
      const dir = fs.mkdtempSync(path.join(workDir, 'keep-'));
      const otherExtension = kind === 'sqlite' ? '.sql.gz' : '.sqlite.gz';
      for (const stamp of ['20200101T000000Z', '20200102T000000Z']) {
        fs.copyFileSync(Object.values(backups)[0]!, path.join(dir, `store-${stamp}${extension}`));
        fs.writeFileSync(path.join(dir, `store-${stamp}.media.json`), '{}');
      }
      fs.writeFileSync(path.join(dir, `store-20190101T000000Z${otherExtension}`), 'another kind');
      // A database to back up: the restored copy of the first case.
      const { url } = emptyTarget();
      await storeCommand(url, ['restore', Object.values(backups)[0]!]);

      const { stdout } = await run('node', [STORE_BIN, 'backup', dir, '--keep', '2'], {
        env: { ...env(url), MEDIA_DIR: path.join(workDir, 'no-media') },
      });
      expect(stdout).toContain(`Removed older backup: ${path.join(dir, `store-20200101T000000Z${extension}`)}`);
      const left = fs.readdirSync(dir).sort();
      expect(left).not.toContain(`store-20200101T000000Z${extension}`);
      expect(left).not.toContain('store-20200101T000000Z.media.json');
      expect(left).toContain(`store-20200102T000000Z${extension}`);
      expect(left).toContain(`store-20190101T000000Z${otherExtension}`);
      expect(left.filter((name) => name.endsWith(extension))).toHaveLength(2);
      const newest = left.filter((name) => name.endsWith(extension)).at(-1)!;
      expect(JSON.parse(fs.readFileSync(path.join(dir, newest.replace(extension, '.media.json')), 'utf8')).files).toEqual([]);
    },
  );
});

/** Paid orders through the real checkout (one referred by an affiliate), which queue confirmations in the outbox. */
async function makeRealData(store: TestStore): Promise<void> {
  const db = store.database.db;
  const affiliateId = await addAffiliate(
    db,
    { name: 'Backup Affiliate', email: 'affiliate@backup.example', rateBasisPoints: 2000, flatPence: null },
    new Date(),
  );
  const releases = await db.selectFrom('releases').select(['id', 'slug']).orderBy('id').limit(2).execute();
  const track = await db
    .selectFrom('tracks')
    .select('id')
    .where('release_id', '=', releases[1]!.id)
    .orderBy('id')
    .executeTakeFirstOrThrow();
  const buy = async (email: string, items: { kind: string; id: number }[], referred: boolean) => {
    const shopper = new Shopper(store.baseUrl);
    if (referred) await shopper.follow(await shopper.get(`/?a=${affiliateId}`));
    await shopper.get(`/release/${releases[0]!.slug}`);
    for (const item of items) await shopper.post('/basket/add', { kind: item.kind, id: String(item.id) });
    await shopper.get('/checkout');
    const page = await shopper.post('/checkout', { method: 'paypal', adult: 'yes', marketing: 'yes' });
    const paypalOrderId = new URL(page.location!).searchParams.get('token')!;
    const { redirectUrl } = store.paypal.control.approve(paypalOrderId, { email });
    await shopper.follow(await shopper.get(redirectUrl!));
    // The stand-in's webhooks arrive on their own time: let them land before the data is compared.
    await store.paypal.control.webhooksSettled();
  };
  await buy('first.buyer@example.com', [{ kind: 'release', id: releases[0]!.id }], true);
  await buy(
    "o'brien+backup@example.com",
    [
      { kind: 'track', id: track.id },
      { kind: 'release', id: releases[1]!.id },
    ],
    false,
  );
  const count = async (table: 'orders' | 'outbox' | 'affiliate_commissions') =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  expect(
    Number(
      (
        await db
          .selectFrom('orders')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('status', '=', 'paid')
          .executeTakeFirstOrThrow()
      ).n,
    ),
  ).toBe(2);
  expect(await count('affiliate_commissions')).toBe(1);
  expect(await count('outbox')).toBeGreaterThanOrEqual(2);
}

const VIEWS = new Set<string>();
const isView = (name: string) => VIEWS.has(name);

/** Every table's and view's rows, ordered by primary key (views, having none, by every column). */
async function snapshot(db: Db, kind: DatabaseKind): Promise<Snapshot> {
  const objects =
    kind === 'sqlite'
      ? (
          await sql<{
            name: string;
            type: string;
          }>`select name, type from sqlite_master where type in ('table', 'view') and name not like 'sqlite_%' order by name`.execute(db)
        ).rows
      : (
          await sql<{
            name: string;
            type: string;
          }>`select table_name as name, case table_type when 'VIEW' then 'view' else 'table' end as type from information_schema.tables where table_schema = database() order by table_name`.execute(
            db,
          )
        ).rows;
  const result: Snapshot = {};
  for (const { name, type } of objects) {
    if (type === 'view') VIEWS.add(name);
    const keys = await orderColumns(db, kind, name);
    const order = sql.join(keys.map((k) => sql.ref(k)));
    result[name] = (await sql`select * from ${sql.table(name)} order by ${order}`.execute(db)).rows;
  }
  return result;
}

async function orderColumns(db: Db, kind: DatabaseKind, table: string): Promise<string[]> {
  const primary =
    kind === 'sqlite'
      ? (await sql<{ name: string }>`select name from pragma_table_info(${table}) where pk > 0 order by pk`.execute(db)).rows
      : (
          await sql<{
            name: string;
          }>`select column_name as name from information_schema.key_column_usage where table_schema = database() and table_name = ${table} and constraint_name = 'PRIMARY' order by ordinal_position`.execute(
            db,
          )
        ).rows;
  if (primary.length) return primary.map((r) => r.name);
  const all =
    kind === 'sqlite'
      ? (await sql<{ name: string }>`select name from pragma_table_info(${table}) order by cid`.execute(db)).rows
      : (
          await sql<{
            name: string;
          }>`select column_name as name from information_schema.columns where table_schema = database() and table_name = ${table} order by ordinal_position`.execute(
            db,
          )
        ).rows;
  return all.map((r) => r.name);
}

function listMedia(mediaDir: string): { path: string; size: number; sha256: string }[] {
  return (fs.readdirSync(mediaDir, { recursive: true }) as string[])
    .filter((relative) => fs.statSync(path.join(mediaDir, relative)).isFile())
    .map((relative) => {
      const data = fs.readFileSync(path.join(mediaDir, relative));
      return { path: relative.split(path.sep).join('/'), size: data.length, sha256: createHash('sha256').update(data).digest('hex') };
    })
    .sort((a, b) => (a.path < b.path ? -1 : 1));
}

async function tableCount(target: DatabaseTarget): Promise<number> {
  if (target.kind === 'sqlite') {
    if (!fs.existsSync(target.file)) return 0;
    const handle = await openDatabase(target);
    try {
      return (await sql<{ n: number }>`select count(*) as n from sqlite_master where type = 'table'`.execute(handle.db)).rows[0]!.n;
    } finally {
      await handle.close();
    }
  }
  const server = new URL(target.url);
  const name = server.pathname.slice(1);
  server.pathname = '/';
  const connection = await createConnection({ uri: server.toString() });
  try {
    const [rows] = await connection.query('select count(*) as n from information_schema.tables where table_schema = ?', [name]);
    return Number((rows as { n: number }[])[0]!.n);
  } finally {
    await connection.end();
  }
}

async function dropTarget(target: DatabaseTarget): Promise<void> {
  if (target.kind === 'sqlite') return fs.rmSync(path.dirname(target.file), { recursive: true, force: true });
  const server = new URL(target.url);
  const name = server.pathname.slice(1);
  server.pathname = '/';
  const connection = await createConnection({ uri: server.toString() });
  await connection.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await connection.end();
}

/** The two text readers of dumps, on the cases a real dump can hold but the store's data may not. */
describe('reading MySQL dumps', () => {
  const split = (text: string) => {
    const splitter = new SqlSplitter();
    return [...text.split('\n').flatMap((line) => splitter.line(line)), ...splitter.end()];
  };

  it('splits at the delimiter only outside strings, identifiers and comments, and follows DELIMITER', () => {
    const statements = split(
      [
        '-- a comment; not a statement',
        '/*!40101 SET NAMES utf8mb4 */;',
        "INSERT INTO `a;b` VALUES (1,'x;y\\';z',\"q;\"),(2,'it''s; fine');",
        '# another comment;',
        "INSERT INTO t VALUES ('two",
        "lines;');",
        'DELIMITER ;;',
        'CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET @x = 1; SET @y = 2; END ;;',
        'DELIMITER ;',
        '/* a plain comment */;',
        'SELECT 1',
      ].join('\n'),
    );
    expect(statements).toEqual([
      '/*!40101 SET NAMES utf8mb4 */',
      "INSERT INTO `a;b` VALUES (1,'x;y\\';z',\"q;\"),(2,'it''s; fine')",
      "INSERT INTO t VALUES ('two\nlines;')",
      'CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET @x = 1; SET @y = 2; END',
      'SELECT 1',
    ]);
  });

  it('counts rows per table and removes DEFINER from DDL lines only', async () => {
    const counted: string[] = [];
    const inspector = new DumpInspector((_done, name) => counted.push(name));
    const dump = [
      '-- Table structure for table `t`',
      'INSERT INTO `t` VALUES',
      "(1,'a),(b',NULL),(2,'DEFINER=`root`@`%` \\'(',0x28),",
      "(3,')',NULL);",
      '-- Temporary table structure for view `v`',
      '/*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */',
      '-- Dump completed on 2026-01-01',
    ].join('\n');
    const chunks: Buffer[] = [];
    inspector.on('data', (c: Buffer) => chunks.push(c));
    // Fed in small pieces, so lines and a multi-byte character arrive split.
    const bytes = Buffer.from(dump.replace("'a),(b'", "'a),(b é'"));
    for (let i = 0; i < bytes.length; i += 7) inspector.write(bytes.subarray(i, i + 7));
    await new Promise<void>((resolve) => inspector.end(resolve));
    const out = Buffer.concat(chunks).toString('utf8');
    expect(counted).toEqual(['t', 'v']);
    expect(inspector.rowsByTable.get('t')).toBe(3);
    expect(inspector.completed).toBe(true);
    expect(out).toContain("'DEFINER=`root`@`%` \\'('");
    expect(out).toContain("'a),(b é'");
    expect(out).toContain('/*!50013 SQL SECURITY DEFINER */');
    expect(out).not.toContain('`root`@`localhost`');
  });
});
