import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from '../helpers/databases.js';
import { buyWithPayPal } from '../helpers/purchase.js';
import { signInCustomer } from '../helpers/sign-in.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

/**
 * The track route reads files in 256 KB chunks (src/downloads/routes.ts): a file of several
 * chunks, whole and in ranges that start and end inside and across chunks, must come out byte
 * for byte, and only a request from the start counts as a download.
 */
const CHUNK = 256 * 1024;
/** Compared by digest: a deep equality of megabyte buffers takes seconds. */
const digest = (bytes: Buffer) => crypto.createHash('sha256').update(bytes).digest('hex');
const body = async (answer: Response) => digest(Buffer.from(await answer.arrayBuffer()));

describe.each(databaseKinds())('track downloads larger than one read on $kind', ({ kind, skip }) => {
  let store: TestStore;
  let cookie: string;
  let track: { id: number; media_file: string };
  let content: Buffer;

  beforeAll(async () => {
    if (skip) return;
    store = await startTestStore(kind, { env: { SIGN_IN_LIMIT_PER_CLIENT: '1000' } });
    const db = store.database.db;
    const release = await db.selectFrom('releases').select(['id', 'slug']).orderBy('id').executeTakeFirstOrThrow();
    await buyWithPayPal(store, 'big-file@example.com', { release });
    const { shopper } = await signInCustomer(store, 'big-file@example.com');
    cookie = `sid=${shopper.cookie('sid')}`;
    track = await db
      .selectFrom('tracks')
      .select(['id', 'media_file'])
      .where('release_id', '=', release.id)
      .orderBy('id')
      .executeTakeFirstOrThrow();
    // Random bytes: a chunk repeated or out of order would not go unnoticed.
    content = crypto.randomBytes(3 * CHUNK + 12_345);
    fs.writeFileSync(path.join(store.config.mediaDir, track.media_file), content);
  });
  afterAll(async () => store?.close());

  const download = (range?: string) =>
    fetch(`${store.baseUrl}/download/track/${track.id}`, { headers: { cookie, ...(range ? { range } : {}) } });
  /** Downloads logged for the track (the log is written behind the downloads: flushed first). */
  const logged = async () => {
    await store.app.downloadLog.flush();
    return (await store.database.db.selectFrom('downloads').select('id').where('track_id', '=', track.id).execute()).length;
  };

  it.skipIf(skip)('sends the whole file and ranges across read boundaries exactly, logging one download', async () => {
    const whole = await download();
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-length')).toBe(String(content.length));
    expect(await body(whole)).toBe(digest(content));
    expect(await logged()).toBe(1);

    const ranges: Array<[number, number]> = [
      [CHUNK - 10, CHUNK + 10],
      [100, 2 * CHUNK + 5],
      [CHUNK, CHUNK],
      [3 * CHUNK, content.length - 1],
    ];
    for (const [start, end] of ranges) {
      const part = await download(`bytes=${start}-${end}`);
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe(`bytes ${start}-${end}/${content.length}`);
      expect(await body(part)).toBe(digest(content.subarray(start, end + 1)));
    }
    const resumed = await download(`bytes=${CHUNK + 1}-`);
    expect(resumed.status).toBe(206);
    expect(await body(resumed)).toBe(digest(content.subarray(CHUNK + 1)));
    // Resuming is not downloading again; a fresh start from byte 0 is.
    expect(await logged()).toBe(1);
    expect(await body(await download('bytes=0-'))).toBe(digest(content));
    expect(await logged()).toBe(2);
  });
});
