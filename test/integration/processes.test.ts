import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { makeMp3 } from '../helpers/mp3.js';

const run = promisify(execFile);
const STORE_BIN = path.resolve('bin/store.js');

/** The operator's commands and the server, run as real processes, as an operator would. */
describe.each(databaseKinds())('the store command and server processes on $kind', ({ kind, skip }) => {
  let database: TestDatabase;
  let workDir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    if (skip) return;
    database = await createTestDatabase(kind);
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-cli-'));
    env = { ...process.env, DATABASE_URL: database.url, DATA_DIR: workDir, LOG_LEVEL: 'warn', NODE_ENV: 'development', CI: '' };
  });
  afterAll(async () => {
    await database?.drop();
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  it.skipIf(skip)('explains itself with --help', async () => {
    const { stdout } = await run('node', [STORE_BIN, '--help'], { env });
    expect(stdout).toContain('import');
    expect(stdout).toContain('migrate');
    const { stdout: importHelp } = await run('node', [STORE_BIN, 'import', '--help'], { env });
    expect(importHelp).toContain('<dir>');
  });

  it.skipIf(skip)('imports a folder, reporting a broken file without stopping, and changes nothing the second time', async () => {
    const library = path.join(workDir, 'incoming');
    fs.cpSync(inject('fixtureLibrary'), library, { recursive: true });
    fs.writeFileSync(path.join(library, 'broken.mp3'), 'not audio at all');
    fs.writeFileSync(path.join(library, 'extra.mp3'), makeMp3(3, { title: 'Extra', artist: 'Extra Artist', album: 'Extra Album' }));
    const files = fs.readdirSync(library, { recursive: true }).filter((f) => String(f).endsWith('.mp3')).length;

    const first = await run('node', [STORE_BIN, 'import', library], { env });
    expect(first.stdout).toMatch(new RegExp(`Added ${files - 1}, updated 0, unchanged 0, skipped [12]\\.`));
    expect(first.stdout).toMatch(/skipped broken\.mp3: not a readable MP3/);
    const second = await run('node', [STORE_BIN, 'import', library], { env });
    expect(second.stdout).toMatch(new RegExp(`Added 0, updated 0, unchanged ${files - 1}`));
    const { stdout: migrated } = await run('node', [STORE_BIN, 'migrate'], { env });
    expect(migrated).toContain('already up to date');
  });

  it.skipIf(skip)('names a bad setting and exits non-zero', async () => {
    const failed = await run('node', [STORE_BIN, 'migrate'], { env: { ...env, PORT: 'eighty' } }).catch((e) => e);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('PORT');
  });

  it.skipIf(skip)(
    'serves, answers /healthz, and stops cleanly on SIGTERM',
    async () => {
      const port = 20000 + Math.floor(Math.random() * 20000);
      const server = spawn('node', ['--import', 'tsx', 'src/server.ts'], {
        env: { ...env, PORT: String(port), HOST: '127.0.0.1', DEMO_CATALOGUE: 'false' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      server.stdout.on('data', (d) => (output += d));
      server.stderr.on('data', (d) => (output += d));
      const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
      let health: Response | undefined;
      for (let i = 0; i < 100 && !health; i++) {
        health = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
        if (!health) await new Promise((r) => setTimeout(r, 200));
      }
      expect(health?.status).toBe(200);
      server.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(output).not.toMatch(/Error|at .*\.ts:\d+/);
    },
    60_000,
  );
});
