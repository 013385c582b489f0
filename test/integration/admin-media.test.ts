import { toDbTime } from '../../src/db/dialect.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImporter } from '../../src/catalogue/importer/importer.js';
import { createEncoder } from '../../src/media/encoder.js';
import { createMediaStorage } from '../../src/media/index.js';
import { createMediaFiles } from '../../src/media/media-files.js';
import { signInAsOperator } from '../helpers/admin.js';
import { databaseKinds } from '../helpers/databases.js';
import { FLAC_ALBUM, makeMasters } from '../helpers/masters.js';
import { buyWithPayPal } from '../helpers/purchase.js';
import type { Shopper } from '../helpers/shopper.js';
import { signInCustomer } from '../helpers/sign-in.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

const masters = makeMasters(fs.mkdtempSync(path.join(os.tmpdir(), 'store-masters-')));
const silent = { info() {}, warn() {}, error() {} } as never;

/**
 * An encoding that failed every attempt (here: the store's ffmpeg is missing) is shown to the
 * operator on /admin/media with its format, track, error and tries, and a retry (POST with the
 * form's CSRF token) puts it back in the queue with fresh attempts, in the audit log; the buyer,
 * told it could not be made, then gets "preparing" and, once made, the file.
 */
describe.each(databaseKinds())('failed encodings in the admin on $kind', ({ kind, skip }) => {
  let store: TestStore;
  let admin: Shopper;

  beforeAll(async () => {
    if (skip) return;
    // The store's own worker has no ffmpeg, so every encoding it tries fails.
    store = await startTestStore(kind, {
      messaging: true,
      env: { SIGN_IN_LIMIT_PER_CLIENT: '1000', FFMPEG_PATH: '/nonexistent/ffmpeg' },
    });
    const storage = createMediaStorage(store.config.media.storage);
    await createImporter({ db: store.database.db, media: createMediaFiles(storage), ffmpegPath: 'ffmpeg' }).importFolder(masters.good);
    admin = await signInAsOperator(store);
  }, 120_000);
  afterAll(async () => store?.close());

  it.skipIf(skip)('lists a failed encoding with its error and tries, and a retry queues it again, audited', async () => {
    const db = store.database.db;
    const release = await db.selectFrom('releases').select(['id', 'slug']).where('title', '=', FLAC_ALBUM.album).executeTakeFirstOrThrow();
    await buyWithPayPal(store, 'encoding-fan@example.com', { release });
    const { shopper } = await signInCustomer(store, 'encoding-fan@example.com');
    const track = await db
      .selectFrom('tracks')
      .select(['id', 'title'])
      .where('release_id', '=', release.id)
      .orderBy('track_number')
      .executeTakeFirstOrThrow();
    const url = `/download/track/${track.id}?format=mp3-320`;

    expect((await shopper.get(url)).status).toBe(202);
    await store.encoder.drainOnce(); // three attempts, each failing
    const failed = await shopper.get(url);
    expect(failed.status).toBe(503);
    expect(failed.text).toContain('We could not prepare');

    const page = await admin.get('/admin/media');
    expect(page.status).toBe(200);
    const encoding = await db
      .selectFrom('media_encodings')
      .select(['id', 'status', 'attempts'])
      .where('track_id', '=', track.id)
      .executeTakeFirstOrThrow();
    expect(encoding).toMatchObject({ status: 'failed', attempts: 3 });
    const row = page.html.querySelector(`#failed-encodings tr[data-encoding="${encoding.id}"]`)!;
    const cells = row.querySelectorAll('td').map((td) => td.text.replace(/\s+/g, ' ').trim());
    expect(cells[1]).toBe('mp3-320');
    expect(cells[2]).toContain(`${FLAC_ALBUM.artist} – ${track.title}`);
    expect(cells[3]).toBe(FLAC_ALBUM.album);
    expect(cells[4]).toBe('3');
    expect(cells[5]).toMatch(/nonexistent|ENOENT|spawn/);
    expect(page.html.querySelector('#media-queues')!.text).toMatch(/Encodings\s*0\s*0\s*0\s*1/);

    // Without the form's token the retry is refused, and nothing changes.
    const forged = await fetch(`${store.baseUrl}/admin/media/encodings/${encoding.id}/retry`, {
      method: 'POST',
      headers: { cookie: `sid=${admin.cookie('sid')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: '_csrf=forged',
      redirect: 'manual',
    });
    expect(forged.status).toBe(403);
    expect((await db.selectFrom('media_encodings').select('status').where('id', '=', encoding.id).executeTakeFirstOrThrow()).status).toBe(
      'failed',
    );

    const retried = await admin.post(`/admin/media/encodings/${encoding.id}/retry`, {});
    expect(retried.status).toBe(303);
    expect(
      await db
        .selectFrom('media_encodings')
        .select(['status', 'attempts', 'last_error'])
        .where('id', '=', encoding.id)
        .executeTakeFirstOrThrow(),
    ).toEqual({
      status: 'pending',
      attempts: 0,
      last_error: null,
    });
    expect((await admin.post(`/admin/media/encodings/${encoding.id}/retry`, {})).status).toBe(409); // no longer failed
    const audit = await db
      .selectFrom('admin_audit')
      .select(['action', 'target', 'detail', 'operator_id'])
      .where('action', '=', 'media.encoding_retry')
      .execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ target: `encoding:${encoding.id}` });
    expect(audit[0]!.detail).toContain(`track ${track.id}, mp3-320`);
    expect(audit[0]!.operator_id).not.toBeNull();
    expect((await admin.get('/admin/media')).html.querySelector('#no-failed-encodings')).not.toBeNull();

    // The buyer now waits on "preparing"; a worker with ffmpeg makes the file, and the download goes through.
    expect((await shopper.get(url)).status).toBe(202);
    const worker = createEncoder({ db, storage: createMediaStorage(store.config.media.storage), ffmpegPath: 'ffmpeg', logger: silent });
    expect(await worker.drainOnce()).toBe(1);
    const done = await shopper.get(url);
    expect(done.status).toBe(200);
  });

  it.skipIf(skip)('retries a failed release ZIP the same way: queued again once, audited, and a second retry refused', async () => {
    const db = store.database.db;
    const release = await db.selectFrom('releases').select('id').where('title', '=', FLAC_ALBUM.album).executeTakeFirstOrThrow();
    const at = toDbTime(new Date());
    const inserted = await db
      .insertInto('media_zips')
      .values({
        output_key: `zips/ab/${'a'.repeat(64)}.zip`,
        release_id: release.id,
        format: 'flac',
        entries: '[]',
        status: 'failed',
        attempts: 3,
        last_error: 'bucket refused the upload',
        created_at: at,
        updated_at: at,
      })
      .executeTakeFirstOrThrow();
    const id = Number(inserted.insertId);
    expect((await admin.get('/admin/media')).text).toContain('bucket refused the upload');

    const retried = await admin.post(`/admin/media/zips/${id}/retry`, {});
    expect(retried.status).toBe(303);
    expect((await admin.get('/admin/media')).text).toContain(`Release ZIP ${id} is queued again.`);
    expect(
      await db.selectFrom('media_zips').select(['status', 'attempts', 'last_error']).where('id', '=', id).executeTakeFirstOrThrow(),
    ).toEqual({
      status: 'pending',
      attempts: 0,
      last_error: null,
    });
    const again = await admin.post(`/admin/media/zips/${id}/retry`, {});
    expect(again.status).toBe(409);
    expect(again.text).toContain('Only a failed release ZIP can be retried');
    const audit = await db.selectFrom('admin_audit').select(['target', 'detail']).where('action', '=', 'media.zip_retry').execute();
    expect(audit).toEqual([{ target: `zip:${id}`, detail: `release ${release.id}, flac; had failed with: bucket refused the upload` }]);
  });
});
