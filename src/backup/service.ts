import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { migrateToLatest, openDatabase } from '../db/database.js';
import { DamagedBackupError, syncFile, verifyGzip } from './compression.js';
import {
  backupFileName,
  backupStamp,
  formatBytes,
  kindOfBackupFile,
  manifestFileName,
  pruneBackups,
  temporaryName,
  type BackupKind,
} from './files.js';
import { buildMediaManifest } from './media-manifest.js';
import { createMediaStorage, type MediaStorage } from '../media/index.js';
import { chooseMethod, type MysqlMethod } from './mysql-connection.js';
import { countTables, DRIVER_DUMP_END, dumpWithClient, dumpWithDriver } from './mysql-dump.js';
import { emptyMysqlDatabase, existingMysqlTables, restoreWithClient, restoreWithDriver } from './mysql-restore.js';
import type { Progress } from './progress.js';
import { backupSqlite, existingSqliteTables, replaceSqliteFile, unpackSqlite } from './sqlite.js';

export interface BackupOptions {
  dir: string;
  keep: number;
  /** MySQL only: the client tools, the driver, or the tools when installed. */
  method: MysqlMethod;
  progress: Progress;
  now?: () => Date;
}

export interface BackupSummary {
  file: string;
  bytes: number;
  tables: number;
  rows: number;
  /** How the database was read: 'sqlite online backup', 'mariadb-dump', 'driver'. */
  via: string;
  manifest: { file: string; files: number; bytes: number };
  removed: string[];
  seconds: number;
}

/**
 * One backup: the database (consistent, compressed) and the media manifest, each written under a
 * temporary name and renamed when complete; older backups of the kind are pruned only after that.
 */
export async function createBackup(config: Config, options: BackupOptions): Promise<BackupSummary> {
  const started = Date.now();
  const kind: BackupKind = config.database.kind;
  fs.mkdirSync(options.dir, { recursive: true });
  const stamp = await freeStamp(options.dir, kind, options.now ?? (() => new Date()));
  const finalFile = path.join(options.dir, backupFileName(kind, stamp));
  const finalManifest = path.join(options.dir, manifestFileName(stamp));
  const temporaryFiles = [temporaryName(finalFile), temporaryName(finalManifest)];
  try {
    const dumped = await dumpDatabase(config, temporaryFiles[0]!, options);
    const manifest = await writeManifest(createMediaStorage(config.media.storage), temporaryFiles[1]!, options.progress);
    fs.renameSync(temporaryFiles[1]!, finalManifest);
    fs.renameSync(temporaryFiles[0]!, finalFile);
    const removed = pruneBackups(options.dir, kind, options.keep);
    return {
      file: finalFile,
      bytes: fs.statSync(finalFile).size,
      ...dumped,
      manifest: { file: finalManifest, ...manifest },
      removed,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    for (const file of temporaryFiles) fs.rmSync(file, { force: true });
  }
}

/** Names carry seconds: a second backup within the same second waits for the next one. */
async function freeStamp(dir: string, kind: BackupKind, now: () => Date): Promise<string> {
  for (;;) {
    const stamp = backupStamp(now());
    if (!fs.existsSync(path.join(dir, backupFileName(kind, stamp)))) return stamp;
    await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 5));
  }
}

async function dumpDatabase(config: Config, file: string, options: BackupOptions): Promise<{ tables: number; rows: number; via: string }> {
  const { progress } = options;
  let bytes = 0;
  let tablesDone = 0;
  let current = '';
  const show = () => progress.update(tablesDone, `${current} ${formatBytes(bytes)}`.trim());
  const onBytes = (total: number) => ((bytes = total), show());
  const onTable = (done: number, name: string) => ((tablesDone = done), (current = name), show());

  if (config.database.kind === 'sqlite') {
    const copy = `${file}.sqlite`;
    // The page count is known once the copy begins; the bar starts then.
    let pages = 0;
    try {
      const stats = await backupSqlite(config.database.file, copy, file, {
        onPages: (done, total) => {
          if (!pages) progress.start('Copying the database', (pages = total), 'pages');
          progress.update(done, `${done}/${total} pages`);
        },
        onBytes: (total) => progress.update(pages, `compressed ${formatBytes(total)}`),
      });
      return { ...stats, via: 'SQLite online backup' };
    } finally {
      progress.stop();
      for (const suffix of ['', '-wal', '-shm', '-journal']) fs.rmSync(copy + suffix, { force: true });
    }
  }
  const url = config.database.url;
  const chosen = chooseMethod(options.method, ['mariadb-dump', 'mysqldump']);
  progress.start('Dumping tables', await countTables(url), 'tables');
  try {
    if (chosen.method === 'client') {
      return { ...(await dumpWithClient(url, chosen.program, file, { onTable, onBytes })), via: path.basename(chosen.program) };
    }
    return { ...(await dumpWithDriver(url, file, { onTable, onBytes })), via: 'driver' };
  } finally {
    progress.stop();
  }
}

async function writeManifest(storage: MediaStorage, file: string, progress: Progress): Promise<{ files: number; bytes: number }> {
  try {
    const manifest = await buildMediaManifest(storage, new Date(), {
      onStart: (total) => progress.start('Hashing media files', total, 'files'),
      onFile: (count) => progress.update(count, ''),
    });
    fs.writeFileSync(file, JSON.stringify(manifest, null, 2) + '\n', { mode: 0o600 });
    await syncFile(file);
    return { files: manifest.fileCount, bytes: manifest.totalBytes };
  } finally {
    progress.stop();
  }
}

export interface RestoreOptions {
  /** Restore even though the target database has tables: they are all dropped first. */
  force: boolean;
  method: MysqlMethod;
  progress: Progress;
}

export interface RestoreSummary {
  kind: BackupKind;
  via: string;
  migrationsApplied: string[];
  seconds: number;
}

/** A refusal the operator can act on (exit 1 with this message, no stack trace). */
export class RestoreRefused extends Error {}

/**
 * Restores a backup into the configured database, which must be empty unless `force`. The file is
 * read through once first, so a truncated or corrupt backup is refused before anything changes.
 * Migrations then bring a backup from an older version up to date.
 */
export async function restoreBackup(config: Config, file: string, options: RestoreOptions): Promise<RestoreSummary> {
  const started = Date.now();
  const kind = kindOfBackupFile(file);
  if (!kind) throw new RestoreRefused(`${file}: not a backup name (store-...sqlite.gz or store-...sql.gz)`);
  if (!fs.existsSync(file)) throw new RestoreRefused(`${file}: no such file`);
  if (kind !== config.database.kind) {
    throw new RestoreRefused(
      `${file} is a ${kind === 'sqlite' ? 'SQLite' : 'MySQL'} backup, but DATABASE_URL names a ${config.database.kind === 'sqlite' ? 'SQLite' : 'MySQL'} database`,
    );
  }
  const via =
    config.database.kind === 'sqlite'
      ? await restoreSqlite(config.database.file, file, options)
      : await restoreMysql(config.database.url, file, options);
  const database = await openDatabase(config.database);
  try {
    const migrationsApplied = await migrateToLatest(database.db);
    return { kind, via, migrationsApplied, seconds: (Date.now() - started) / 1000 };
  } finally {
    await database.close();
  }
}

function refuseUnlessEmpty(tables: string[], options: RestoreOptions, where: string): void {
  if (tables.length && !options.force) {
    throw new RestoreRefused(
      `${where} already holds ${tables.length} tables and views: restore only into an empty database, or pass --force to drop everything in it first.`,
    );
  }
}

async function restoreSqlite(databaseFile: string, archive: string, options: RestoreOptions): Promise<string> {
  refuseUnlessEmpty(existingSqliteTables(databaseFile), options, `The database ${databaseFile}`);
  fs.mkdirSync(path.dirname(path.resolve(databaseFile)), { recursive: true });
  const unpacked = temporaryName(path.resolve(databaseFile));
  options.progress.start('Unpacking', fs.statSync(archive).size, 'bytes');
  try {
    await unpackSqlite(archive, unpacked, (n) => options.progress.update(n, formatBytes(n)));
    replaceSqliteFile(unpacked, databaseFile);
    return 'file replaced';
  } finally {
    options.progress.stop();
    for (const suffix of ['', '-wal', '-shm', '-journal']) fs.rmSync(unpacked + suffix, { force: true });
  }
}

async function restoreMysql(url: string, archive: string, options: RestoreOptions): Promise<string> {
  // Opening creates the database when it is missing ("restore into an empty database").
  await (await openDatabase({ kind: 'mysql', url })).close();
  const existing = await existingMysqlTables(url);
  refuseUnlessEmpty(
    existing.map((t) => t.name),
    options,
    'The target database',
  );
  options.progress.start('Checking the backup', 0, 'bytes');
  const tail = await verifyGzip(archive).finally(() => options.progress.stop());
  if (!/-- Dump completed|-- store backup completed/.test(tail)) {
    throw new DamagedBackupError(
      `${archive} is not a complete backup: the dump does not end with its completion line (${DRIVER_DUMP_END} or "-- Dump completed").`,
    );
  }
  if (existing.length) await emptyMysqlDatabase(url);
  const chosen = chooseMethod(options.method, ['mariadb', 'mysql']);
  options.progress.start('Restoring', fs.statSync(archive).size, 'bytes');
  try {
    const onBytes = (n: number) => options.progress.update(n, formatBytes(n));
    if (chosen.method === 'client') {
      await restoreWithClient(url, chosen.program, archive, onBytes);
      return path.basename(chosen.program);
    }
    await restoreWithDriver(url, archive, onBytes);
    return 'driver';
  } finally {
    options.progress.stop();
  }
}
