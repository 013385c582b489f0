import path from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import { InvalidArgumentError, type Command } from 'commander';
import { formatBytes } from '../backup/files.js';
import type { MysqlMethod } from '../backup/mysql-connection.js';
import type { Progress } from '../backup/progress.js';
import { createBackup, restoreBackup } from '../backup/service.js';
import { loadConfig, loadDotEnv } from '../config.js';

export function registerBackupCommands(program: Command): void {
  program
    .command('backup')
    .description(
      'Write a consistent, compressed, timestamped backup of the database and a manifest of the media folder; keep the newest N.',
    )
    .argument('[dir]', 'folder for the backups (default: DATA_DIR/backups)')
    .option('--keep <n>', 'how many backups of this kind to keep (default: BACKUP_KEEP, 7)', positiveInteger)
    .option('--method <method>', 'MySQL: client (mariadb-dump/mysqldump), driver, or auto (the tools when installed)', parseMethod, 'auto')
    .option('--no-progress', 'do not draw a progress bar')
    .action(async (dir: string | undefined, options: { keep?: number; method: MysqlMethod; progress: boolean }) => {
      loadDotEnv();
      const config = loadConfig();
      const summary = await createBackup(config, {
        dir: path.resolve(dir ?? path.join(config.dataDir, 'backups')),
        keep: options.keep ?? config.backupKeep,
        method: options.method,
        progress: progressReporter(options.progress),
      });
      console.log(`Backup written: ${summary.file} (${formatBytes(summary.bytes)}, through ${summary.via})`);
      console.log(`Tables: ${summary.tables}, rows: ${summary.rows}, time: ${summary.seconds.toFixed(1)} s`);
      console.log(
        `Media manifest: ${summary.manifest.file} (${summary.manifest.files} files, ${formatBytes(summary.manifest.bytes)}; the media files themselves are not in the backup)`,
      );
      for (const removed of summary.removed) console.log(`Removed older backup: ${removed}`);
    });

  program
    .command('restore')
    .description(
      'Restore a backup into the configured database, which must be empty (SQLite: stop the store first). Then migrates to the latest schema.',
    )
    .argument('<file>', 'a store-...sqlite.gz or store-...sql.gz backup')
    .option('--force', 'restore even into a database that has tables: everything in it is dropped first')
    .option('--method <method>', 'MySQL: client (mariadb/mysql), driver, or auto (the client when installed)', parseMethod, 'auto')
    .option('--no-progress', 'do not draw a progress bar')
    .action(async (file: string, options: { force?: boolean; method: MysqlMethod; progress: boolean }) => {
      loadDotEnv();
      const config = loadConfig();
      if (config.database.kind === 'sqlite') {
        // The file is swapped underneath: a running store would keep writing to the old one.
        console.log(`Restoring into ${config.database.file}: the store must be stopped while this runs.`);
      }
      // A refusal or a damaged file ends in main's handler: the message alone, exit 1.
      const summary = await restoreBackup(config, path.resolve(file), {
        force: options.force === true,
        method: options.method,
        progress: progressReporter(options.progress),
      });
      console.log(`Restored ${file} (through ${summary.via}) in ${summary.seconds.toFixed(1)} s.`);
      console.log(
        summary.migrationsApplied.length
          ? `Migrations applied since the backup: ${summary.migrationsApplied.join(', ')}`
          : 'The schema was already up to date.',
      );
    });
}

function positiveInteger(value: string): number {
  if (!/^[1-9]\d{0,4}$/.test(value)) throw new InvalidArgumentError('must be a whole number from 1');
  return Number(value);
}

function parseMethod(value: string): MysqlMethod {
  if (value !== 'auto' && value !== 'client' && value !== 'driver') throw new InvalidArgumentError('must be auto, client or driver');
  return value;
}

/** A bar on a terminal; otherwise (a log, cron mail) one line per phase and per table. */
function progressReporter(enabled: boolean): Progress {
  if (enabled && process.stdout.isTTY) {
    const bar = new SingleBar({ format: '{phase} [{bar}] {value}/{total} {unit} | {detail}', hideCursor: true }, Presets.shades_classic);
    let unit = '';
    let active = false;
    return {
      start: (phase, total, newUnit) => ((unit = newUnit), (active = true), bar.start(Math.max(total, 1), 0, { phase, unit, detail: '' })),
      update: (done, detail) => active && bar.update(Math.floor(done), { detail }),
      stop: () => ((active = false), bar.stop()),
    };
  }
  let unit = '';
  let total = 0;
  let shown = 0;
  return {
    start(phase, newTotal, newUnit) {
      [unit, total, shown] = [newUnit, newTotal, 0];
      if (enabled) console.log(`${phase}...`);
    },
    update(done, detail) {
      if (!enabled || unit !== 'tables' || done === shown) return;
      shown = done;
      console.log(`  ${done}/${total} ${detail.split(' ')[0]}`);
    },
    stop() {},
  };
}
