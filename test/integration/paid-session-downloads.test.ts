import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from '../helpers/databases.js';
import { buyWithPayPal } from '../helpers/purchase.js';
import { Shopper } from '../helpers/shopper.js';
import { signInCustomer } from '../helpers/sign-in.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

/**
 * The browser that paid downloads that order's music at once, without signing in
 * (src/downloads/access.ts): only that order's, only in that browser, only for
 * PAID_SESSION_DOWNLOAD_HOURS after payment, and never after a refund.
 */
describe.each(databaseKinds())('downloads in the browser that paid, on $kind', ({ kind, skip }) => {
  let store: TestStore;
  let now = new Date('2026-12-07T14:05:00Z');
  let releases: { id: number; slug: string }[];

  beforeAll(async () => {
    if (skip) return;
    store = await startTestStore(kind, { clock: () => now, env: { SIGN_IN_LIMIT_PER_CLIENT: '1000', PAID_SESSION_DOWNLOAD_HOURS: '24' } });
    releases = await store.database.db.selectFrom('releases').select(['id', 'slug']).orderBy('id').limit(3).execute();
  });
  afterAll(async () => store?.close());

  const db = () => store.database.db;
  const firstTrack = (releaseId: number) =>
    db().selectFrom('tracks').select('id').where('release_id', '=', releaseId).orderBy('id').executeTakeFirstOrThrow();
  const download = (shopper: Shopper | null, path: string) =>
    fetch(store.baseUrl + path, { headers: shopper?.cookie('sid') ? { cookie: `sid=${shopper.cookie('sid')}` } : {} });
  const refund = async (reference: string) => {
    const order = await db().selectFrom('orders').selectAll().where('reference', '=', reference).executeTakeFirstOrThrow();
    const payment = await db().selectFrom('payments').selectAll().where('order_id', '=', order.id).executeTakeFirstOrThrow();
    await store.app.methods
      .find((m) => m.id === 'paypal')!
      .refund({ providerRef: payment.provider_ref, captureRef: payment.capture_ref!, amountPence: order.total_pence });
  };
  const referenceOf = (page: Awaited<ReturnType<typeof buyWithPayPal>>['orderPage']) =>
    page.html.querySelector('.order-status strong')!.text;

  it.skipIf(skip)(
    "offers the order's music on the thank-you page and in Your music, to that browser only, and not the rest of the account",
    async () => {
      // The same customer bought another release earlier, in another browser.
      await buyWithPayPal(store, 'quick@example.com', { release: releases[1] });
      const { shopper, orderPage } = await buyWithPayPal(store, 'quick@example.com', { release: releases[0] });
      const track = await firstTrack(releases[0]!.id);
      const earlier = await firstTrack(releases[1]!.id);

      // The page says when, as a person reads it, and how it was paid.
      expect(orderPage.html.querySelector('.note time')!.text).toBe('7 December 2026, 14:05 UTC');
      expect(
        orderPage.html
          .querySelectorAll('.note')
          .map((note) => note.text)
          .join(' '),
      ).toContain('Paid with PayPal');
      const links = orderPage.html.querySelectorAll('.order-music a[href^="/download/"]').map((a) => a.getAttribute('href'));
      expect(links).toContain(`/download/track/${track.id}`);
      expect(links).toContain(`/download/release/${releases[0]!.id}.zip`);
      const file = await download(shopper, `/download/track/${track.id}`);
      expect(file.status).toBe(200);
      expect(file.headers.get('content-type')).toBe('audio/mpeg');
      expect((await download(shopper, `/download/release/${releases[0]!.id}.zip`)).status).toBe(200);
      // The download is logged against the customer who paid (written behind the download: flushed here).
      await store.app.downloadLog.flush();
      const customer = await db().selectFrom('customers').select('id').where('email', '=', 'quick@example.com').executeTakeFirstOrThrow();
      expect(await db().selectFrom('downloads').select('customer_id').where('track_id', '=', track.id).execute()).toEqual([
        { customer_id: customer.id },
      ]);

      const music = await shopper.get('/account/music');
      expect(music.status).toBe(200);
      expect(music.html.querySelectorAll('a[href^="/download/"]').map((a) => a.getAttribute('href'))).toContain(
        `/download/track/${track.id}`,
      );
      // Not the rest of the account: the release bought in the other browser needs signing in.
      expect(music.html.querySelectorAll('a[href^="/download/"]').map((a) => a.getAttribute('href'))).not.toContain(
        `/download/track/${earlier.id}`,
      );
      expect((await download(shopper, `/download/track/${earlier.id}`)).status).toBe(404);
      expect((await download(shopper, `/download/release/${releases[1]!.id}.zip`)).status).toBe(404);

      // Another browser, with nothing or with an order of its own, gets none of it.
      expect((await download(null, `/download/track/${track.id}`)).status).toBe(401);
      const other = await buyWithPayPal(store, 'someone-else@example.com', { release: releases[2] });
      expect((await download(other.shopper, `/download/track/${track.id}`)).status).toBe(404);
      expect((await download(other.shopper, `/download/release/${releases[0]!.id}.zip`)).status).toBe(404);
      // Another browser cannot see the order page either, so it cannot take the links from there.
      expect((await other.shopper.get(`/orders/${referenceOf(orderPage)}`)).status).toBe(404);

      // Signing in later shows everything the account owns, this order included.
      await signInCustomer(store, 'quick@example.com', shopper);
      const all = (await shopper.get('/account/music')).html.querySelectorAll('a[href^="/download/"]').map((a) => a.getAttribute('href'));
      expect(all).toEqual(expect.arrayContaining([`/download/track/${track.id}`, `/download/track/${earlier.id}`]));
    },
  );

  it.skipIf(skip)('ends with a refund, checked at download time', async () => {
    const { shopper, orderPage } = await buyWithPayPal(store, 'refunded-quick@example.com', { release: releases[0] });
    const track = await firstTrack(releases[0]!.id);
    expect((await download(shopper, `/download/track/${track.id}`)).status).toBe(200);
    await refund(referenceOf(orderPage));
    expect((await download(shopper, `/download/track/${track.id}`)).status).toBe(404);
    expect((await download(shopper, `/download/release/${releases[0]!.id}.zip`)).status).toBe(404);
    const music = await shopper.get('/account/music');
    expect(music.status).toBe(303);
  });

  it.skipIf(skip)('expires PAID_SESSION_DOWNLOAD_HOURS after payment', async () => {
    const paidAt = now;
    const { shopper } = await buyWithPayPal(store, 'expiring@example.com', { release: releases[0] });
    const track = await firstTrack(releases[0]!.id);
    try {
      now = new Date(paidAt.getTime() + 24 * 3600_000 - 60_000);
      expect((await download(shopper, `/download/track/${track.id}`)).status).toBe(200);
      now = new Date(paidAt.getTime() + 24 * 3600_000 + 1000);
      expect((await download(shopper, `/download/track/${track.id}`)).status).toBe(404);
      expect((await shopper.get('/account/music')).location).toBe('/account');
    } finally {
      now = paidAt;
    }
  });
});
