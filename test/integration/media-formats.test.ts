import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseBuffer } from 'music-metadata';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createImporter } from '../../src/catalogue/importer/importer.js';
import { DatabaseSessionStore } from '../../src/db/session-store.js';
import { createMediaStorage, importerMedia, type MediaStorage } from '../../src/media/index.js';
import { PRESENCE_TTL_MS } from '../../src/media/service.js';
import { databaseKinds } from '../helpers/databases.js';
import { FLAC_ALBUM, makeMasters, WAV_SINGLE } from '../helpers/masters.js';
import { buyWithPayPal } from '../helpers/purchase.js';
import { startTestS3, storageKinds, type TestS3 } from '../helpers/s3.js';
import { signInCustomer } from '../helpers/sign-in.js';
import { startTestStore, type TestStore } from '../helpers/store.js';
import { zipEntries } from '../helpers/zip.js';

const readAll = async (stream: NodeJS.ReadableStream) => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};
/**
 * How many requests in `work` loaded their session through the session chain (express-session's
 * store.get): a presigned download the chain would not change is answered before it (src/downloads/routes.ts).
 */
async function chainLoads(work: () => Promise<unknown>): Promise<number> {
  const get = vi.spyOn(DatabaseSessionStore.prototype, 'get');
  try {
    await work();
    return get.mock.calls.length;
  } finally {
    get.mockRestore();
  }
}
const masters = makeMasters(fs.mkdtempSync(path.join(os.tmpdir(), 'store-masters-')));
const combos = databaseKinds().flatMap((db) => storageKinds().map((s) => ({ ...db, ...s })));

/**
 * Lossless masters end to end, on each database and each storage: import (good and bad files),
 * the formats on sale, a purchase, the "preparing" answer, the queue making the file, and the
 * delivered FLAC and MP3 320 read back with music-metadata: tags and cover art complete.
 */
describe.each(combos)('lossless masters on $kind with $storage media', ({ kind, skip, storage: storageKind }) => {
  let store: TestStore;
  let s3: TestS3 | undefined;
  let storage: MediaStorage;
  let cookie: string;
  let flacRelease: { id: number; slug: string };
  /** The FLAC release's first track. */
  const firstFlacTrack = () =>
    store.database.db
      .selectFrom('tracks')
      .select('id')
      .where('release_id', '=', flacRelease.id)
      .orderBy('track_number')
      .executeTakeFirstOrThrow();
  let mp3Release: { id: number; slug: string };
  // The store's clock: the real time, moved on where a test needs time to pass.
  let ahead = 0;

  beforeAll(async () => {
    if (skip) return;
    if (storageKind === 's3') s3 = await startTestS3();
    store = await startTestStore(kind, {
      env: { SIGN_IN_LIMIT_PER_CLIENT: '1000', ...(s3?.env ?? {}) },
      clock: () => new Date(Date.now() + ahead),
    });
    storage = createMediaStorage(store.config.media.storage);
  }, 120_000);
  afterAll(async () => {
    await store?.close();
    await s3?.close();
  });

  const importer = () => createImporter({ db: store.database.db, ...importerMedia(store.config.media) });
  const masterKeys = async () => {
    const found: string[] = [];
    for await (const object of storage.list('masters/')) found.push(object.key);
    return found;
  };

  it.skipIf(skip)(
    'refuses a truncated FLAC, a WAV with a wrong header, an MP3 named .flac and a two-hour file, each with a clear line and nothing stored',
    async () => {
      const tracksBefore = await store.database.db.selectFrom('tracks').select('id').execute();
      const summary = await importer().importFolder(masters.bad);
      expect(summary.added).toBe(0);
      const reasons = Object.fromEntries(summary.skipped.map((s) => [s.file, s.reason]));
      expect(reasons['truncated.flac']).toMatch(/^not a usable master: it (does not decode completely|is cut short)/);
      expect(reasons['wrong-header.wav']).toMatch(/^not a usable master: (it is named \.wav but|its WAV header)/);
      expect(reasons['really-an-mp3.flac']).toBe('not a usable master: it is named .flac but is really MP3');
      expect(reasons['two-hours.flac']).toBe('cannot be sold: it is 120 minutes long; a track may be at most 90');
      expect(await store.database.db.selectFrom('tracks').select('id').execute()).toHaveLength(tracksBefore.length);
      expect(await masterKeys()).toEqual([]);
    },
  );

  it.skipIf(skip)('imports FLAC and WAV masters as delivered, recording what they carry, and a second run changes nothing', async () => {
    const first = await importer().importFolder(masters.good);
    expect(first).toMatchObject({ added: 3, updated: 0, skipped: [] });
    expect(await importer().importFolder(masters.good)).toMatchObject({ added: 0, unchanged: 3, skipped: [] });
    const db = store.database.db;
    const rows = await db
      .selectFrom('tracks')
      .innerJoin('releases', 'releases.id', 'tracks.release_id')
      .where('tracks.master_format', '!=', 'mp3')
      .select(['tracks.title', 'master_format', 'sample_rate', 'bit_depth', 'channels', 'media_file', 'releases.cover_file'])
      .orderBy('tracks.title')
      .execute();
    expect(rows.map((r) => [r.title, r.master_format, r.sample_rate, r.bit_depth, r.channels])).toEqual([
      ['First Tone', 'flac', 48000, 24, 2],
      [WAV_SINGLE.title, 'wav', 44100, 16, 2],
      ['Second Tone', 'flac', 48000, 24, 2],
    ]);
    // Kept exactly as delivered, under the SHA-256 of the file.
    const delivered = fs.readFileSync(path.join(masters.good, 'flac-album', `01 ${FLAC_ALBUM.titles[0]}.flac`));
    const stored = rows.find((r) => r.title === 'First Tone')!;
    expect(stored.media_file).toMatch(/^masters\/[0-9a-f]{2}\/[0-9a-f]{64}\.flac$/);
    expect((await readAll(await storage.get(stored.media_file))).equals(delivered)).toBe(true);
    expect(stored.cover_file).toMatch(/^covers\//);
    flacRelease = await db.selectFrom('releases').select(['id', 'slug']).where('title', '=', FLAC_ALBUM.album).executeTakeFirstOrThrow();
    mp3Release = await db
      .selectFrom('releases')
      .select(['releases.id', 'releases.slug'])
      .innerJoin('tracks', 'tracks.release_id', 'releases.id')
      .where('tracks.master_format', '=', 'mp3')
      .orderBy('releases.id')
      .executeTakeFirstOrThrow();
  });

  it.skipIf(skip)('says on the release page which formats are offered: all for a lossless master, MP3 only for an MP3 import', async () => {
    const formats = async (slug: string) =>
      (await (await fetch(`${store.baseUrl}/release/${slug}`)).text()).match(/class="release__formats">([^<]*)</)?.[1];
    expect(await formats(flacRelease.slug)).toBe('MP3 320, MP3 V0, FLAC, DRM-free');
    expect(await formats(mp3Release.slug)).toBe('MP3, DRM-free');
    // The preview of a lossless master is an MP3 made from it: 30 s at most (these tracks are 4 s).
    const track = await firstFlacTrack();
    const preview = await fetch(`${store.baseUrl}/preview/${track.id}.mp3`);
    expect(preview.status).toBe(200);
    const info = await parseBuffer(Buffer.from(await preview.arrayBuffer()), { mimeType: 'audio/mpeg' });
    expect(info.format.codec).toMatch(/MPEG 1 Layer 3/);
    expect(info.format.duration).toBeGreaterThan(3.5);
  });

  /** Follows a download to its bytes: a presigned redirect (S3) or the file itself (local), never through the store for S3. */
  async function download(
    url: string,
    as = cookie,
  ): Promise<{ status: number; bytes?: Buffer; type?: string | null; disposition?: string | null; body?: string }> {
    const answer = await fetch(`${store.baseUrl}${url}`, { headers: { cookie: as }, redirect: 'manual' });
    if (answer.status === 202) return { status: 202, body: await answer.text() };
    if (storageKind === 's3') {
      expect(answer.status).toBe(302);
      const target = answer.headers.get('location')!;
      expect(target.startsWith(s3!.endpoint)).toBe(true);
      expect(target).toMatch(/X-Amz-Expires=900\b/);
      // However it was answered (before the session chain or by the route), with the store's headers and never cached.
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
      expect(answer.headers.get('cache-control')).toBe('private, no-store');
      const object = await fetch(target);
      expect(object.status).toBe(200);
      return {
        status: 200,
        bytes: Buffer.from(await object.arrayBuffer()),
        type: object.headers.get('content-type'),
        disposition: object.headers.get('content-disposition'),
      };
    }
    expect(answer.status).toBe(200);
    return {
      status: 200,
      bytes: Buffer.from(await answer.arrayBuffer()),
      type: answer.headers.get('content-type'),
      disposition: answer.headers.get('content-disposition'),
    };
  }

  async function readyDownload(url: string) {
    const first = await download(url);
    if (first.status === 202) {
      expect(first.body).toContain('<meta http-equiv="refresh" content="3">');
      expect(first.body).toContain('Preparing your download');
      await store.encoder.drainOnce();
      return download(url);
    }
    return first;
  }

  it.skipIf(skip)(
    'a buyer downloads the FLAC release as FLAC and as MP3 320, each made once by the queue, fully tagged with the cover',
    async () => {
      await buyWithPayPal(store, 'lossless@example.com', { release: flacRelease });
      await buyWithPayPal(store, 'lossless@example.com', { release: mp3Release });
      const { shopper } = await signInCustomer(store, 'lossless@example.com');
      cookie = `sid=${shopper.cookie('sid')}`;
      const tracks = await store.database.db
        .selectFrom('tracks')
        .select(['id', 'title', 'track_number'])
        .where('release_id', '=', flacRelease.id)
        .orderBy('track_number')
        .execute();
      const first = tracks[0]!;

      const music = await shopper.get('/account/music');
      const links = (id: number) =>
        music.html.querySelectorAll(`tr[data-track="${id}"] .formats a`).map((a) => a.getAttribute('data-format'));
      expect(links(first.id)).toEqual(['mp3-320', 'mp3-v0', 'flac']);

      const flac = await readyDownload(`/download/track/${first.id}?format=flac`);
      expect(flac.type).toBe('audio/flac');
      expect(flac.disposition).toContain(`filename="${FLAC_ALBUM.artist} - ${first.title}.flac"`);
      const flacInfo = await parseBuffer(flac.bytes!, { mimeType: 'audio/flac' });
      expect(flacInfo.format).toMatchObject({
        container: 'FLAC',
        sampleRate: 48000,
        bitsPerSample: 24,
        numberOfChannels: 2,
        lossless: true,
      });
      expect(Object.keys(flacInfo.native)).toContain('vorbis');
      expectTags(flacInfo.common, first.title, 1);

      const mp3 = await readyDownload(`/download/track/${first.id}?format=mp3-320`);
      expect(mp3.type).toBe('audio/mpeg');
      const mp3Info = await parseBuffer(mp3.bytes!, { mimeType: 'audio/mpeg' });
      expect(mp3Info.format.bitrate).toBe(320_000);
      expect(Object.keys(mp3Info.native)).toContain('ID3v2.3');
      expectTags(mp3Info.common, first.title, 1);

      // The choice is remembered: a plain "Download" now gives MP3 320, made already, so no waiting.
      // With object storage it is a redirect answered before the session chain.
      let again!: Awaited<ReturnType<typeof download>>;
      expect(await chainLoads(async () => (again = await download(`/download/track/${first.id}`)))).toBe(storageKind === 's3' ? 0 : 1);
      expect(again.status).toBe(200);
      expect(again.bytes!.equals(mp3.bytes!)).toBe(true);
      const encodings = await store.database.db
        .selectFrom('media_encodings')
        .select(['format', 'status'])
        .where('track_id', '=', first.id)
        .orderBy('format')
        .execute();
      expect(encodings).toEqual([
        { format: 'flac', status: 'ready' },
        { format: 'mp3-320', status: 'ready' },
      ]);
    },
  );

  function expectTags(common: Awaited<ReturnType<typeof parseBuffer>>['common'], title: string, number: number) {
    expect(common).toMatchObject({
      title,
      artist: FLAC_ALBUM.artist,
      albumartist: FLAC_ALBUM.artist,
      album: FLAC_ALBUM.album,
      year: Number(FLAC_ALBUM.year),
      genre: [FLAC_ALBUM.genre],
    });
    expect(common.track).toEqual({ no: number, of: 2 });
    expect(common.disk).toEqual({ no: 1, of: 1 });
    expect(common.picture?.[0]?.format).toBe('image/png');
    expect(common.picture?.[0]?.data.length).toBeGreaterThan(50);
  }

  /** Asks until the file is ready, working the queue between asks (an encoding, then the ZIP of them). */
  async function untilReady(url: string) {
    for (let tries = 0; tries < 4; tries++) {
      const answer = await download(url);
      if (answer.status !== 202) return answer;
      expect(answer.body).toContain('Preparing your download');
      await store.encoder.drainOnce();
    }
    throw new Error(`${url} was never ready`);
  }

  it.skipIf(skip)('the release ZIP comes in the chosen format, and an encoding lost from storage is made again', async () => {
    const url = `/download/release/${flacRelease.id}.zip?format=flac`;
    if (storageKind === 's3') {
      // Object storage: the second track's FLAC is made first, then the worker makes the ZIP once and keeps it
      // in the bucket; the buyer waits on "preparing" for both.
      expect((await download(url)).status).toBe(202);
      await store.encoder.drainOnce();
      expect(await store.database.db.selectFrom('media_zips').select('id').execute()).toEqual([]);
      expect((await download(url)).status).toBe(202);
      expect(await store.database.db.selectFrom('media_zips').select(['status', 'release_id', 'format']).execute()).toEqual([
        { status: 'pending', release_id: flacRelease.id, format: 'flac' },
      ]);
    }
    const zip = await untilReady(url);
    expect(zip.type).toBe('application/zip');
    const entries = await zipEntries(zip.bytes!);
    const folder = `${FLAC_ALBUM.artist} - ${FLAC_ALBUM.album}`;
    expect([...entries.keys()].sort()).toEqual([`${folder}/01 First Tone.flac`, `${folder}/02 Second Tone.flac`, `${folder}/cover.png`]);
    const second = await parseBuffer(entries.get(`${folder}/02 Second Tone.flac`)!, { mimeType: 'audio/flac' });
    expectTags(second.common, 'Second Tone', 2);
    const zips = await store.database.db.selectFrom('media_zips').select(['output_key', 'status']).execute();
    if (storageKind === 's3') {
      expect(zips).toEqual([{ output_key: expect.stringMatching(/^zips\/[0-9a-f]{2}\/[0-9a-f]{64}\.zip$/), status: 'ready' }]);
      expect((await readAll(await storage.get(zips[0]!.output_key))).equals(zip.bytes!)).toBe(true);
      // Asked again: the same object, not made again.
      expect((await download(url)).bytes!.equals(zip.bytes!)).toBe(true);
      expect(await store.database.db.selectFrom('media_zips').select('output_key').execute()).toHaveLength(1);
    } else expect(zips).toEqual([]); // the local folder builds it in the request

    // A retitled track is a new encoding and a new ZIP, with the new name and tags in it.
    const db = store.database.db;
    const retitleSecondTrack = (title: string) =>
      db.updateTable('tracks').set({ title }).where('release_id', '=', flacRelease.id).where('track_number', '=', 2).execute();
    await retitleSecondTrack('Second Tone (Remaster)');
    const rezipped = await untilReady(url);
    const remadeEntries = await zipEntries(rezipped.bytes!);
    expect([...remadeEntries.keys()].sort()).toEqual([
      `${folder}/01 First Tone.flac`,
      `${folder}/02 Second Tone (Remaster).flac`,
      `${folder}/cover.png`,
    ]);
    const retagged = await parseBuffer(remadeEntries.get(`${folder}/02 Second Tone (Remaster).flac`)!, { mimeType: 'audio/flac' });
    expectTags(retagged.common, 'Second Tone (Remaster)', 2);
    if (storageKind === 's3')
      expect(await db.selectFrom('media_zips').select('status').execute()).toEqual([{ status: 'ready' }, { status: 'ready' }]);
    await retitleSecondTrack('Second Tone');

    const lost = await store.database.db
      .selectFrom('media_encodings')
      .innerJoin('tracks', 'tracks.id', 'media_encodings.track_id')
      .select(['output_key', 'track_id'])
      .where('format', '=', 'flac')
      .where('tracks.release_id', '=', flacRelease.id)
      .orderBy('track_id')
      .executeTakeFirstOrThrow();
    await storage.delete(lost.output_key);
    // The object store is asked whether a file is there at most every PRESENCE_TTL_MS (the local folder every time).
    if (storageKind === 's3') ahead += PRESENCE_TTL_MS + 1000;
    expect((await download(`/download/track/${lost.track_id}?format=flac`)).status).toBe(202);
    const remade = await readyDownload(`/download/track/${lost.track_id}?format=flac`);
    expect(remade.status).toBe(200);
    expect(await storage.stat(lost.output_key)).not.toBeNull();
  });

  it.skipIf(skip)(
    'an MP3-only release offers only MP3: the file as imported, whatever format is asked for; an unknown format is a 400',
    async () => {
      const track = await store.database.db
        .selectFrom('tracks')
        .select(['id', 'media_file'])
        .where('release_id', '=', mp3Release.id)
        .orderBy('track_number')
        .executeTakeFirstOrThrow();
      const music = await (await fetch(`${store.baseUrl}/account/music`, { headers: { cookie } })).text();
      expect(music).not.toMatch(new RegExp(`/download/track/${track.id}\\?format=`));
      const asFlac = await download(`/download/track/${track.id}?format=flac`);
      expect(asFlac.type).toBe('audio/mpeg');
      expect(asFlac.bytes!.equals(await readAll(await storage.get(track.media_file)))).toBe(true);
      const unknown = await fetch(`${store.baseUrl}/download/track/${track.id}?format=ogg`, { headers: { cookie } });
      expect(unknown.status).toBe(400);
      expect(await unknown.text()).toContain('not one the store offers');
    },
  );

  it.skipIf(skip)(
    'a buyer who is not signed in has their format choice remembered in the session while their paid downloads last',
    async () => {
      const { shopper } = await buyWithPayPal(store, 'session-buyer@example.com', { release: flacRelease });
      const session = `sid=${shopper.cookie('sid')}`;
      const track = await firstFlacTrack();
      const plainDownload = async () => {
        const music = await shopper.get('/account/music');
        expect(music.status).toBe(200);
        return music.html.querySelector(`tr[data-track="${track.id}"] a.add-button`)!.text.replace(/\s+/g, ' ');
      };
      expect(await plainDownload()).toContain('MP3 320'); // nothing chosen yet: the first format on sale

      const flac = await download(`/download/track/${track.id}?format=flac`, session);
      expect(flac.type).toBe('audio/flac');
      // Remembered: "Your music" says FLAC, and the plain link gives the FLAC.
      expect(await plainDownload()).toContain('FLAC');
      let plain!: Awaited<ReturnType<typeof download>>;
      expect(await chainLoads(async () => (plain = await download(`/download/track/${track.id}`, session)))).toBe(
        storageKind === 's3' ? 0 : 1,
      );
      expect(plain.type).toBe('audio/flac');
      expect(plain.bytes!.equals(flac.bytes!)).toBe(true);
      // In the session only: the order's customer row is not changed by a browser that has not signed in.
      const customer = await store.database.db
        .selectFrom('customers')
        .select('download_format')
        .where('email', '=', 'session-buyer@example.com')
        .executeTakeFirstOrThrow();
      expect(customer.download_format).toBeNull();

      // A second order in the same browser: the session now holds two orders, not the one its last
      // download was checked for, and the new order's track is found before the chain all the same.
      await buyWithPayPal(store, 'session-buyer@example.com', { release: mp3Release, shopper });
      const second = await store.database.db
        .selectFrom('tracks')
        .select('id')
        .where('release_id', '=', mp3Release.id)
        .executeTakeFirstOrThrow();
      let secondDownload!: Awaited<ReturnType<typeof download>>;
      expect(
        await chainLoads(async () => (secondDownload = await download(`/download/track/${second.id}`, `sid=${shopper.cookie('sid')}`))),
      ).toBe(storageKind === 's3' ? 0 : 1);
      expect(secondDownload.type).toBe('audio/mpeg');

      // Signed out in another process (the row gone): refused at once, before the chain or by it.
      await store.database.db
        .deleteFrom('sessions')
        .where('sid', '=', decodeURIComponent(shopper.cookie('sid')!).slice(2).split('.')[0]!)
        .execute();
      expect(
        (await fetch(`${store.baseUrl}/download/track/${track.id}`, { headers: { cookie: session }, redirect: 'manual' })).status,
      ).toBe(401);
    },
  );

  it.skipIf(skip)('each download is checked for the holder the session row gives now, not the one its last download had', async () => {
    const track = await firstFlacTrack();
    expect((await download(`/download/track/${track.id}`)).status).toBe(200);
    const sid = decodeURIComponent(cookie.slice('sid='.length)).slice(2).split('.')[0]!;
    const row = await store.database.db.selectFrom('sessions').select('data').where('sid', '=', sid).executeTakeFirstOrThrow();
    const signedIn = JSON.parse(row.data) as Record<string, unknown>;
    const rewrite = (data: Record<string, unknown>) =>
      store.database.db
        .updateTable('sessions')
        .set({ data: JSON.stringify(data) })
        .where('sid', '=', sid)
        .execute();
    const fetchTrack = () => fetch(`${store.baseUrl}/download/track/${track.id}`, { headers: { cookie }, redirect: 'manual' });

    // The row now names a customer who bought nothing: not this customer's music.
    const now = new Date().toISOString().slice(0, 19).replace('T', ' ');
    const stranger = await store.database.db
      .insertInto('customers')
      .values({
        email: 'stranger@example.com',
        msisdn: null,
        marketing_opt_in: 0,
        marketing_choice_at: null,
        created_at: now,
        updated_at: now,
      })
      .executeTakeFirstOrThrow();
    await rewrite({ ...signedIn, customerId: Number(stranger.insertId) });
    expect((await fetchTrack()).status).toBe(404);

    // What a time-out does to the row (the basket stays, the customer goes): sign in again to download.
    const { customerId, signedInAt, lastSeenAt, ...signedOut } = signedIn;
    expect([customerId, signedInAt, lastSeenAt]).not.toContain(undefined);
    await rewrite(signedOut);
    expect((await fetchTrack()).status).toBe(401);
  });
});
