import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createConnection } from 'mysql2/promise';
import { writeLibrary } from './lib/mp3.js';
import { trackPeakRss } from './lib/processes.js';
import { DATA_DIR } from './lib/store.js';

/**
 * The importer on 1,000 generated, tagged MP3s (35 s each) into an empty database of its own,
 * in a child process whose peak RSS is read from /proc: files per second.
 */
const FILES = Number(process.env.BENCH_IMPORT_FILES ?? 1000);

function library(log: (m: string) => void): string {
  const dir = path.resolve(DATA_DIR, `import-library-${FILES}`);
  if (!fs.existsSync(path.join(dir, '.complete'))) {
    log(`  writing ${FILES} MP3s...`);
    fs.rmSync(dir, { recursive: true, force: true });
    writeLibrary(dir, FILES);
    fs.writeFileSync(path.join(dir, '.complete'), 'ok');
  }
  return dir;
}

export async function emptyDatabase(url: string): Promise<void> {
  if (!url.startsWith('mysql')) {
    // With its WAL and shared-memory files: a WAL left by a stopped store must not meet a new file.
    for (const file of [url, `${url}-wal`, `${url}-shm`]) fs.rmSync(file, { force: true });
    return;
  }
  const name = new URL(url).pathname.slice(1);
  const connection = await createConnection({ uri: new URL('/', url).toString() });
  await connection.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await connection.end();
}

export async function benchImport(databaseUrl: string, log: (m: string) => void) {
  const dir = library(log);
  const mediaDir = path.resolve(DATA_DIR, 'import-media');
  fs.rmSync(mediaDir, { recursive: true, force: true });
  await emptyDatabase(databaseUrl);
  const libraryBytes = fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.mp3'))
    .reduce((n, e) => n + fs.statSync(path.join(e.parentPath, e.name)).size, 0);
  log(`  importing ${FILES} files (${(libraryBytes / 2 ** 20).toFixed(0)} MB)...`);
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const child = fork('bench/import-child.ts', [dir, mediaDir, databaseUrl], {
    execArgv: ['--import', 'tsx', ...profile],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const peak = trackPeakRss(child.pid!);
  const result = await new Promise<{ ms: number; added: number; skipped: number; firstSkip?: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as never));
    child.once('exit', (code) => reject(new Error(`the import exited with ${code} before reporting`)));
  });
  const rss = peak();
  await exited;
  if (result.added !== FILES)
    throw new Error(`expected ${FILES} files added, got ${result.added} (skipped ${result.skipped}: ${result.firstSkip})`);
  fs.rmSync(mediaDir, { recursive: true, force: true });
  return {
    files: FILES,
    mb: Number((libraryBytes / 2 ** 20).toFixed(1)),
    seconds: Number((result.ms / 1000).toFixed(1)),
    files_per_s: Number((FILES / (result.ms / 1000)).toFixed(1)),
    peak_rss_mb: rss,
  };
}
