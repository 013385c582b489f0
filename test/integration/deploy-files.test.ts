import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const DEPLOY = path.resolve('deploy');
const UNITS = ['music-store.service', 'music-store-backup.service', 'music-store-backup.timer'];

/** A tool the check needs: outside CI a missing one skips the check with a message; under CI=true (.ci/run installs them) it is an error. */
function tool(file: string): boolean {
  if (fs.existsSync(file)) return true;
  if (process.env.CI === 'true') throw new Error(`CI=true but ${file} is not installed`);
  console.warn(`${file} not found: its check of deploy/ is skipped.`);
  return false;
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'store-deploy-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** The deployment files in deploy/ are checked by the tools that will read them. */
describe('deploy/', () => {
  it.skipIf(!tool('/usr/bin/systemd-analyze'))(
    'the systemd units pass systemd-analyze verify, and the store unit is hardened',
    async () => {
      // verify checks that ExecStart's program exists: point it at this machine's node.
      for (const unit of UNITS) {
        const text = fs.readFileSync(path.join(DEPLOY, unit), 'utf8').replaceAll('/usr/bin/node', process.execPath);
        fs.writeFileSync(path.join(work, unit), text);
      }
      const { stdout, stderr } = await run('/usr/bin/systemd-analyze', ['verify', '--man=no', ...UNITS.map((u) => path.join(work, u))]);
      expect(stdout + stderr).toBe('');
      const security = await run('/usr/bin/systemd-analyze', [
        'security',
        '--offline=yes',
        '--threshold=25',
        path.join(work, 'music-store.service'),
      ]);
      expect(security.stdout).toMatch(/Overall exposure level for music-store\.service: [0-2]\.\d OK/);
    },
  );

  it.skipIf(!tool('/usr/sbin/nginx') || !tool('/usr/bin/openssl'))('deploy/nginx.conf passes nginx -t inside an http block', async () => {
    // The real certificate paths do not exist here: a throwaway self-signed pair stands in for them.
    await run('/usr/bin/openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=shop.example.com',
      '-keyout',
      path.join(work, 'privkey.pem'),
      '-out',
      path.join(work, 'fullchain.pem'),
    ]);
    const site = fs.readFileSync(path.join(DEPLOY, 'nginx.conf'), 'utf8').replaceAll('/etc/letsencrypt/live/shop.example.com/', `${work}/`);
    fs.writeFileSync(path.join(work, 'music-store.conf'), site);
    fs.writeFileSync(
      path.join(work, 'nginx.conf'),
      `pid ${work}/nginx.pid;\nerror_log ${work}/error.log;\nevents {}\nhttp {\n  access_log off;\n  include ${work}/music-store.conf;\n}\n`,
    );
    const { stderr } = await run('/usr/sbin/nginx', ['-t', '-q', '-c', path.join(work, 'nginx.conf'), '-p', work]);
    expect(stderr).not.toMatch(/\[(emerg|alert|crit|error)\]/);
  });
});
