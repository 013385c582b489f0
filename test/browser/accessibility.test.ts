import type { BrowserContext } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { addAffiliate } from '../../src/affiliates/repository.js';
import { violationsOnPages, type PageToCheck } from '../helpers/accessibility.js';
import { createOperator, signInWith } from '../helpers/admin.js';
import { browserJourney } from '../helpers/browser.js';
import { databaseKinds } from '../helpers/databases.js';
import { approvedAtPayPal, buyWithPayPal } from '../helpers/purchase.js';
import { Shopper } from '../helpers/shopper.js';
import { newestCode, signInCustomer } from '../helpers/sign-in.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

/**
 * Every page type of the store, per role, checked with axe-core (zero violations of any impact)
 * and walked with the Tab key (every link, button and field reached, each visibly focused).
 * A new page belongs in one of these lists; the walk then keeps it usable by everyone. Every role
 * runs in test mode (banner, stand-ins). Out of it (as a live store shows its pages, with the
 * cookie consent banner that AFFILIATE_COOKIE_CONSENT=required brings) the shop and checkout run
 * again with the admin sign-in page: the layouts lose only the banner, so the other roles' pages
 * would repeat what is checked already, at minutes a walk.
 */
interface Stocked {
  store: TestStore;
  releaseSlug: string;
  artistSlug: string;
  genreSlug: string | undefined;
  releaseId: number;
  affiliateId: number;
  /** A paid order, bought by `buyer` (whose browser placed it and who can sign in). */
  paid: { reference: string; buyer: Shopper; customerId: number };
  /** An order the shopper cancelled at PayPal. */
  cancelledReference: string;
}

async function stock(store: TestStore): Promise<Stocked> {
  const db = store.database.db;
  const release = await db
    .selectFrom('releases')
    .innerJoin('artists', 'artists.id', 'releases.artist_id')
    .select(['releases.id', 'releases.slug', 'artists.slug as artistSlug'])
    .orderBy('releases.id')
    .executeTakeFirstOrThrow();
  const genre = await db.selectFrom('genres').select('slug').executeTakeFirst();
  const affiliateId = await addAffiliate(
    db,
    { name: 'Axe Blog', email: 'axe@affiliates.example', rateBasisPoints: 1000, flatPence: null },
    new Date(),
  );
  const { shopper: buyer, orderPage } = await buyWithPayPal(store, 'axe.buyer@example.com');
  const reference = /NL-[A-Z0-9-]+/.exec(orderPage.text)![0];
  const customerId = (await db.selectFrom('customers').select('id').where('email', '=', 'axe.buyer@example.com').executeTakeFirstOrThrow())
    .id;
  const cancelled = await approvedAtPayPal(store, 'axe.canceller@example.com');
  const cancelledPage = await cancelled.shopper.follow(
    await cancelled.shopper.get(`/checkout/paypal/cancel?token=${cancelled.paypalOrderId}`),
  );
  const cancelledReference = /NL-[A-Z0-9-]+/.exec(cancelledPage.text)![0];
  return {
    store,
    releaseSlug: release.slug,
    artistSlug: release.artistSlug,
    genreSlug: genre?.slug,
    releaseId: release.id,
    affiliateId,
    paid: { reference, buyer, customerId },
    cancelledReference,
  };
}

/** Gives the browser context the session a Shopper built over HTTP (a basket, a sign-in). */
async function useSessionOf(context: BrowserContext, shopper: Shopper, baseUrl: string) {
  await context.clearCookies();
  await context.addCookies([{ name: 'sid', value: shopper.cookie('sid')!, url: baseUrl }]);
}

describe.each(
  databaseKinds().flatMap((k) => [
    { ...k, testMode: true },
    { ...k, testMode: false },
  ]),
)('every page passes axe-core on $kind, test mode $testMode', ({ kind, skip, testMode }) => {
  let s: Stocked;
  const journey = browserJourney(
    async () => {
      const store = await startTestStore(kind, { testMode, env: testMode ? {} : { AFFILIATE_COOKIE_CONSENT: 'required' } });
      s = await stock(store);
      return store;
    },
    { skip },
  );

  // A walk opens many pages and runs axe on each: minutes on a loaded machine, not seconds.
  const WALK_MS = 300_000;

  async function check(pages: PageToCheck[], session?: Shopper) {
    const context = await journey.browser.newContext();
    if (session) await useSessionOf(context, session, journey.app.baseUrl);
    const { page } = await journey.newPage(context);
    // The keyboard walk once per database (in test mode): the banner adds one link, nothing else a key reaches.
    const found = await violationsOnPages(page, journey.app.baseUrl, pages, { keyboard: testMode });
    await context.close();
    expect(found).toEqual([]);
  }

  it.skipIf(journey.skipped)(
    'shop pages a visitor sees',
    async () => {
      const artistWord = (await journey.app.database.db.selectFrom('artists').select('name').executeTakeFirstOrThrow()).name.split(' ')[0]!;
      await check([
        { name: 'home', url: '/' },
        { name: 'artist', url: `/artist/${s.artistSlug}` },
        { name: 'release', url: `/release/${s.releaseSlug}` },
        ...(s.genreSlug ? [{ name: 'genre', url: `/genre/${s.genreSlug}` }] : []),
        { name: 'search with results', url: `/search?q=${encodeURIComponent(artistWord)}` },
        { name: 'search without results', url: '/search?q=zzqqxxnothing' },
        { name: 'empty basket', url: '/basket' },
        { name: 'privacy', url: '/privacy' },
        { name: 'contact', url: '/contact' },
        ...(testMode ? [] : [{ name: 'cookie choices', url: '/cookies' }]),
        { name: 'sign-in', url: '/account' },
        { name: 'affiliate sign-in', url: '/affiliate/sign-in' },
        { name: 'not found', url: '/no-such-page' },
        ...(testMode ? [] : [{ name: 'admin sign-in', url: '/admin/sign-in' }]),
      ]);
    },
    WALK_MS,
  );

  it.skipIf(journey.skipped)(
    'checkout, the payment stand-ins and the order pages of the shopper who paid',
    async () => {
      const shopper = new Shopper(journey.app.baseUrl);
      await shopper.get(`/release/${s.releaseSlug}`);
      await shopper.post('/basket/add', { kind: 'release', id: String(s.releaseId) });
      await shopper.get('/checkout');
      const paypal = (await shopper.post('/checkout', { method: 'paypal', adult: 'yes' })).location!;
      await shopper.get('/checkout');
      const payforit = (await shopper.post('/checkout', { method: 'payforit', adult: 'yes' })).location!;
      const payforitPage = new URL((await fetch(payforit, { redirect: 'manual' })).headers.get('location')!, payforit).toString();
      await check(
        [
          { name: 'full basket', url: '/basket' },
          { name: 'checkout', url: '/checkout' },
          { name: 'PayPal approval (stand-in)', url: paypal },
          { name: 'PayForIt number (stand-in)', url: payforitPage },
        ],
        shopper,
      );
      await fetch(`${payforitPage}/number`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ msisdn: '07700 900123' }),
      });
      await check([{ name: 'PayForIt PIN (stand-in)', url: payforitPage }]);
      await check([{ name: 'thank-you (paid order)', url: `/orders/${s.paid.reference}` }], s.paid.buyer);
    },
    WALK_MS,
  );

  it.skipIf(journey.skipped || !testMode)(
    'account pages of a signed-in customer',
    async () => {
      const waiting = new Shopper(journey.app.baseUrl);
      await waiting.get('/account');
      await waiting.post('/account/sign-in', { contact: 'axe.buyer@example.com' });
      await check([{ name: 'code entry', url: '/account/code' }], waiting);
      const { shopper } = await signInCustomer(journey.app, 'axe.buyer@example.com');
      await check(
        [
          { name: 'your music', url: '/account/music' },
          { name: 'preferences', url: '/account/preferences' },
          { name: 'order', url: `/orders/${s.paid.reference}` },
        ],
        shopper,
      );
    },
    WALK_MS,
  );

  it.skipIf(journey.skipped || !testMode)(
    'the affiliate pages',
    async () => {
      const affiliate = new Shopper(journey.app.baseUrl);
      await affiliate.get('/affiliate/sign-in');
      await affiliate.post('/affiliate/sign-in', { email: 'axe@affiliates.example' });
      await check([{ name: 'affiliate code entry', url: '/affiliate/code' }], affiliate);
      await affiliate.get('/affiliate/code');
      await affiliate.post('/affiliate/code', { code: await newestCode(journey.app, 'axe@affiliates.example') });
      await check(
        [
          { name: 'affiliate dashboard', url: '/affiliate' },
          { name: 'affiliate link builder', url: '/affiliate?path=%2Fsearch%3Fq%3Dx' },
        ],
        affiliate,
      );
    },
    WALK_MS,
  );

  it.skipIf(journey.skipped || !testMode)(
    'every admin section',
    async () => {
      const login = await createOperator(journey.app);
      const waiting = new Shopper(journey.app.baseUrl);
      await check([{ name: 'admin sign-in', url: '/admin/sign-in' }]);
      await waiting.get('/admin/sign-in');
      await waiting.post('/admin/sign-in', { email: login.email, password: login.password });
      await check([{ name: 'admin code entry', url: '/admin/sign-in/code' }], waiting);
      const admin = await signInWith(journey.app, login);
      await check(
        [
          { name: 'dashboard', url: '/admin' },
          { name: 'orders', url: '/admin/orders' },
          { name: 'paid order', url: `/admin/orders/${s.paid.reference}` },
          { name: 'cancelled order', url: `/admin/orders/${s.cancelledReference}` },
          { name: 'customers', url: '/admin/customers' },
          { name: 'customer', url: `/admin/customers/${s.paid.customerId}` },
          { name: 'catalogue', url: '/admin/catalogue' },
          { name: 'catalogue release', url: `/admin/catalogue/releases/${s.releaseId}` },
          { name: 'affiliates', url: '/admin/affiliates' },
          { name: 'affiliate', url: `/admin/affiliates/${s.affiliateId}` },
          { name: 'messages', url: '/admin/messages' },
          { name: 'audit log', url: '/admin/audit' },
        ],
        admin,
      );
    },
    WALK_MS,
  );
});
