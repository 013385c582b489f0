import fs from 'node:fs';
import path from 'node:path';

/**
 * Names in a backup folder. A backup is `store-YYYYMMDDTHHMMSSZ.<kind extension>` with its media
 * manifest beside it as `store-YYYYMMDDTHHMMSSZ.media.json`; the timestamp is UTC, so names sort
 * in time order.
 */
export type BackupKind = 'sqlite' | 'mysql';

const EXTENSIONS: Record<BackupKind, string> = { sqlite: '.sqlite.gz', mysql: '.sql.gz' };
const BACKUP_NAME = /^store-(\d{8}T\d{6}Z)\.(sqlite\.gz|sql\.gz)$/;

export function backupStamp(now: Date): string {
  return now.toISOString().slice(0, 19).replace(/[-:]/g, '') + 'Z';
}

export function backupFileName(kind: BackupKind, stamp: string): string {
  return `store-${stamp}${EXTENSIONS[kind]}`;
}

export function manifestFileName(stamp: string): string {
  return `store-${stamp}.media.json`;
}

/** While being written a file has a hidden temporary name, so no half backup ever has a final one. */
export function temporaryName(finalPath: string): string {
  return path.join(path.dirname(finalPath), `.${path.basename(finalPath)}.${process.pid}.partial`);
}

/** The kind of a backup from its file name; null when the name is not one a backup has. */
export function kindOfBackupFile(file: string): BackupKind | null {
  const name = path.basename(file);
  if (name.endsWith(EXTENSIONS.sqlite)) return 'sqlite';
  if (name.endsWith(EXTENSIONS.mysql)) return 'mysql';
  return null;
}

/** The finished backups of one kind in a folder, newest first. */
export function listBackups(dir: string, kind: BackupKind): { file: string; stamp: string }[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((name) => ({ name, match: BACKUP_NAME.exec(name) }))
    .filter(({ name, match }) => match && kindOfBackupFile(name) === kind)
    .map(({ name, match }) => ({ file: path.join(dir, name), stamp: match![1]! }))
    .sort((a, b) => b.stamp.localeCompare(a.stamp));
}

/**
 * Deletes all but the newest `keep` backups of one kind, with their manifests. Called only after
 * the new backup is complete, so a failed run never costs an old backup.
 */
export function pruneBackups(dir: string, kind: BackupKind, keep: number): string[] {
  const removed: string[] = [];
  for (const { file, stamp } of listBackups(dir, kind).slice(keep)) {
    fs.rmSync(file, { force: true });
    const manifest = path.join(dir, manifestFileName(stamp));
    // Two kinds may share a second's stamp; the manifest goes only when no other backup uses it.
    const sharedStamp = (['sqlite', 'mysql'] as const).some((k) => k !== kind && fs.existsSync(path.join(dir, backupFileName(k, stamp))));
    if (!sharedStamp) fs.rmSync(manifest, { force: true });
    removed.push(file);
  }
  return removed;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
