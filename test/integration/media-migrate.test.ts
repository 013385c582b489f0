import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMediaManifest } from '../../src/backup/media-manifest.js';
import { createLocalStorage } from '../../src/media/local-storage.js';
import { createS3Storage } from '../../src/media/s3-storage.js';
import { loadConfig } from '../../src/config.js';
import { startTestS3, type TestS3 } from '../helpers/s3.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

const run = promisify(execFile);
const STORE_BIN = path.resolve('bin/store.js');

/**
 * `npx store media migrate` as an operator runs it: a demo store's media folder into the bucket and
 * back into an empty folder, every object's SHA-256 compared on both sides; a second run (resuming)
 * copies nothing, and an object damaged at the destination is copied again.
 */
describe('npx store media migrate', () => {
  let store: TestStore;
  let s3: TestS3;
  let work: string;

  beforeAll(async () => {
    store = await startTestStore('sqlite');
    s3 = await startTestS3();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'store-migrate-'));
  }, 120_000);
  afterAll(async () => {
    await store?.close();
    await s3?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  const migrate = (to: string, mediaDir: string) =>
    run('node', [STORE_BIN, 'media', 'migrate', '--to', to, '--no-progress'], {
      env: {
        ...process.env,
        ...s3.env,
        MEDIA_STORAGE: 'local',
        MEDIA_DIR: mediaDir,
        DATA_DIR: work,
        LOG_LEVEL: 'warn',
        NODE_ENV: 'development',
        CI: '',
      },
    });
  const bucket = () => createS3Storage(loadConfig({ NODE_ENV: 'test', ...s3.env }).media.s3!);
  const files = async (storage: ReturnType<typeof bucket>) => (await buildMediaManifest(storage, new Date())).files;

  it('copies the folder into the bucket with every hash verified, resumes without copying again, and repairs a damaged object', async () => {
    const folder = createLocalStorage(store.config.mediaDir);
    const expected = await files(folder);
    expect(expected.length).toBeGreaterThan(10);

    // As if an earlier run had stopped: one object already there, one left damaged (same size, other bytes).
    const [done, damaged] = expected;
    await bucket().put(done!.path, fs.readFileSync(path.join(store.config.mediaDir, done!.path)));
    await bucket().put(damaged!.path, Buffer.alloc(damaged!.size, 7));

    const first = await migrate('s3', store.config.mediaDir);
    expect(first.stdout).toContain(`${expected.length} objects: ${expected.length - 1} copied`);
    expect(first.stdout).toContain('1 already there; every SHA-256 verified.');
    expect(await files(bucket())).toEqual(expected);

    const again = await migrate('s3', store.config.mediaDir);
    expect(again.stdout).toContain(`${expected.length} objects: 0 copied (0 bytes), ${expected.length} already there`);
  }, 300_000);

  it('copies the bucket back into an empty folder, identical object for object', async () => {
    const back = path.join(work, 'media-back');
    const output = await migrate('local', back);
    expect(output.stdout).toContain('every SHA-256 verified');
    expect(await files(createLocalStorage(back))).toEqual(await files(createLocalStorage(store.config.mediaDir)));
  }, 300_000);

  it('says what is missing when the bucket is not configured', async () => {
    const failed = await run('node', [STORE_BIN, 'media', 'migrate', '--to', 's3'], {
      env: { ...process.env, DATA_DIR: work, S3_BUCKET: '', CI: '' },
    }).then(
      () => undefined,
      (error: { stderr: string; code: number }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain('S3_BUCKET, S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set');
  });
});
