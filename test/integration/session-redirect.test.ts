import { createConnection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basketCount } from '../../src/basket/basket.js';
import { databaseKinds } from '../helpers/databases.js';
import { Shopper } from '../helpers/shopper.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

/**
 * A browser follows a redirect as soon as its headers arrive. The session the redirecting request
 * changed must already be in the database then, or the next page shows the basket and the flash
 * message without that change (src/web/save-before-redirect.ts).
 */
describe.each(databaseKinds())('sessions saved before a redirect goes out on $kind', ({ kind, skip }) => {
  let store: TestStore;
  beforeAll(async () => {
    if (!skip) store = await startTestStore(kind);
  });
  afterAll(async () => store?.close());

  // MySQL only: another connection can hold the session row locked, so the save is slow for sure.
  // (In SQLite the test and the store share one connection, which cannot block itself.)
  it.skipIf(skip || kind !== 'mysql')('does not answer a redirect while its session cannot be saved yet', async () => {
    const db = store.database.db;
    const track = await db.selectFrom('tracks').select(['id', 'release_id']).orderBy('id', 'desc').executeTakeFirstOrThrow();
    const release = await db.selectFrom('releases').select('slug').where('id', '=', track.release_id).executeTakeFirstOrThrow();
    const shopper = new Shopper(store.baseUrl);
    await shopper.get(`/release/${release.slug}`);
    await shopper.post('/basket/add', { kind: 'track', id: String(track.id) });
    const token = (await shopper.get('/basket')).html.querySelector('input[name="_csrf"]')!.getAttribute('value')!;
    const signedSid = decodeURIComponent(shopper.cookie('sid')!);
    const sid = signedSid.slice(2, signedSid.lastIndexOf('.'));

    const locker = await createConnection({ uri: store.database.url });
    try {
      await locker.beginTransaction();
      await locker.query('SELECT sid FROM sessions WHERE sid = ? FOR UPDATE', [sid]);
      // A redirect whose request left the session as it was does not write it, so the lock holds nothing up.
      const unchanged = await fetch(`${store.baseUrl}/account/code`, {
        redirect: 'manual',
        headers: { cookie: `sid=${shopper.cookie('sid')}` },
        signal: AbortSignal.timeout(500),
      });
      expect(unchanged.status).toBe(303);
      let answered = false;
      const response = fetch(`${store.baseUrl}/basket/remove`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: `sid=${shopper.cookie('sid')}`, origin: store.baseUrl, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ _csrf: token, kind: 'track', id: String(track.id) }),
      }).then((r) => ((answered = true), r));
      await new Promise((resolve) => setTimeout(resolve, 700));
      // While the session row is locked its save waits, and so must the redirect.
      expect(answered).toBe(false);
      await locker.rollback();
      expect((await response).status).toBe(303);
      const row = await db.selectFrom('sessions').select('data').where('sid', '=', sid).executeTakeFirstOrThrow();
      expect(basketCount((JSON.parse(row.data) as { basket?: Parameters<typeof basketCount>[0] }).basket)).toBe(0);
    } finally {
      await locker.end();
    }
  });
});
