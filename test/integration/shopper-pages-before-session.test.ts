import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { toDbTime } from '../../src/db/dialect.js';
import { DatabaseSessionStore } from '../../src/db/session-store.js';
import { databaseKinds } from '../helpers/databases.js';
import { Shopper, type Page } from '../helpers/shopper.js';
import { rawGet } from '../helpers/raw-get.js';
import { signInCustomer } from '../helpers/sign-in.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

/**
 * A shopper's catalogue page kept in shopperPages is answered before the session chain, from one
 * read of the session row (src/web/session-peek.ts), when the chain would change nothing in the
 * session. Whatever the chain would do (a time-out, a lastSeenAt, an extension of the row, a first
 * CSRF token) still happens, and a change made by another process shows on the next page.
 */
describe.each(databaseKinds())('shoppers’ pages answered before the session chain on $kind', ({ kind, skip }) => {
  let store: TestStore;
  let release: { id: number; slug: string };
  let trackId: number;
  let now = new Date(Date.UTC(2026, 10, 20, 12, 0, 0));
  const badgeIn = (page: Page) => page.html.querySelector('.site-nav .badge')?.text;
  const signedInOn = (page: Page) => page.html.querySelector('.site-nav a[href="/account/music"]') !== null;

  beforeAll(async () => {
    if (skip) return;
    store = await startTestStore(kind, { env: { CATALOGUE_CACHE_SECONDS: '3600' }, clock: () => now });
    release = await store.database.db.selectFrom('releases').select(['id', 'slug']).orderBy('id').executeTakeFirstOrThrow();
    trackId = (await store.database.db.selectFrom('tracks').select('id').where('release_id', '!=', release.id).executeTakeFirstOrThrow())
      .id;
  });
  afterAll(async () => store?.close());
  afterEach(() => vi.restoreAllMocks());

  /** A shopper with one track in the basket, past the page that said so. */
  async function shopper(): Promise<Shopper> {
    const browser = new Shopper(store.baseUrl);
    await browser.get(`/release/${release.slug}`);
    await browser.follow(await browser.post('/basket/add', { kind: 'track', id: String(trackId) }));
    return browser;
  }
  const sidOf = (browser: Shopper) => decodeURIComponent(browser.cookie('sid')!).slice(2).split('.')[0]!;
  const row = (browser: Shopper) =>
    store.database.db.selectFrom('sessions').select(['data', 'expires_at']).where('sid', '=', sidOf(browser)).executeTakeFirstOrThrow();
  const sessionOf = async (browser: Shopper) => JSON.parse((await row(browser)).data) as Record<string, unknown>;
  const rewrite = async (browser: Shopper, change: (data: Record<string, unknown>) => void) => {
    const data = await sessionOf(browser);
    change(data);
    await store.database.db
      .updateTable('sessions')
      .set({ data: JSON.stringify(data) })
      .where('sid', '=', sidOf(browser))
      .execute();
  };
  /** How the session was loaded for the requests in `work`: through express-session (get) or peeked at (readLive). */
  async function loads(work: () => Promise<unknown>): Promise<{ chain: number; reads: number }> {
    const get = vi.spyOn(DatabaseSessionStore.prototype, 'get');
    const readLive = vi.spyOn(DatabaseSessionStore.prototype, 'readLive');
    await work();
    const counts = { chain: get.mock.calls.length, reads: readLive.mock.calls.length };
    vi.restoreAllMocks();
    return counts;
  }

  it.skipIf(skip)(
    'answers a kept page from one read of the session, with the bytes and headers the chain gave it, writing nothing',
    async () => {
      const browser = await shopper();
      const headersOf = (response: Response) => {
        const all: [string, string][] = [];
        response.headers.forEach((value, name) => void (name === 'date' || all.push([name, value])));
        return all;
      };
      const request = () => fetch(`${store.baseUrl}/release/${release.slug}`, { headers: { cookie: `sid=${browser.cookie('sid')}` } });
      const rendered = await request();
      const renderedHtml = await rendered.text();
      const before = await row(browser);
      let kept: Response | undefined;
      expect(await loads(async () => (kept = await request()))).toEqual({ chain: 0, reads: 1 });
      expect(await kept!.text()).toBe(renderedHtml);
      expect(headersOf(kept!)).toEqual(headersOf(rendered));
      expect(kept!.headers.get('set-cookie')).toBeNull();
      expect(renderedHtml).toContain('<span class="badge">1</span>');
      expect(await row(browser)).toEqual(before);
      // A revalidation of that page is still answered 304.
      const etag = kept!.headers.get('etag')!;
      const revalidated = await fetch(`${store.baseUrl}/release/${release.slug}`, {
        headers: { cookie: `sid=${browser.cookie('sid')}`, 'if-none-match': etag, 'cache-control': 'max-age=0' },
      });
      expect(revalidated.status).toBe(304);
    },
  );

  it.skipIf(skip)(
    'gzips a kept page from pieces compressed once: the shopper’s token travels stored as it is, never compressed with the page',
    async () => {
      const browser = await shopper();
      const cookie = `sid=${browser.cookie('sid')}`;
      const raw = (acceptEncoding: string) =>
        rawGet(`${store.baseUrl}/release/${release.slug}`, { cookie, 'accept-encoding': acceptEncoding });
      const plain = await raw('identity');
      expect(plain.headers['content-encoding']).toBeUndefined();
      const token = /name="_csrf" value="([^"]+)"/.exec(plain.body.toString())![1]!;
      // As a browser asks (brotli preferred): gzip, as one answer for the rendered page and the kept one alike.
      for (const answer of [await raw('gzip, deflate, br'), await raw('gzip, deflate, br')]) {
        expect(answer.headers['content-encoding']).toBe('gzip');
        expect(answer.headers.vary).toMatch(/Accept-Encoding/i);
        expect(gunzipSync(answer.body).toString()).toBe(plain.body.toString());
        expect(answer.body.length).toBeLessThan(plain.body.length / 2);
        // A stored block, so the compressed size says nothing about the token (BREACH): its bytes are in the body as they are.
        expect(answer.body.includes(Buffer.from(token))).toBe(true);
      }
      // Another shopper gets the same pieces around their own token.
      const other = await shopper();
      const theirs = await rawGet(`${store.baseUrl}/release/${release.slug}`, {
        cookie: `sid=${other.cookie('sid')}`,
        'accept-encoding': 'gzip',
      });
      expect(gunzipSync(theirs.body).toString()).not.toContain(token);
    },
  );

  it.skipIf(skip)('shows a change made through another process at once: a basket emptied, a session ended', async () => {
    const browser = await shopper();
    await browser.get('/');
    expect(badgeIn(await browser.get('/'))).toBe('1');
    await rewrite(browser, (data) => (data.basket = { releases: [], tracks: [] }));
    expect(badgeIn(await browser.get('/'))).toBeUndefined();
    await rewrite(browser, (data) => (data.basket = { releases: [release.id], tracks: [trackId] }));
    expect(badgeIn(await browser.get('/'))).toBe('2');
    await store.database.db.deleteFrom('sessions').where('sid', '=', sidOf(browser)).execute();
    const after = await browser.get('/');
    expect(badgeIn(after)).toBeUndefined();
    expect(after.html.querySelector('input[name="_csrf"]')?.getAttribute('value') ?? 'v.').toMatch(/^v\./);
  });

  it.skipIf(skip)('keeps the time-outs: lastSeenAt written once a minute, signed out after an hour idle with the message', async () => {
    const email = `before-session-${kind}@example.com`;
    const at = toDbTime(now);
    await store.database.db
      .insertInto('customers')
      .values({ email, msisdn: null, marketing_opt_in: 0, marketing_choice_at: null, created_at: at, updated_at: at })
      .execute();
    const { shopper: customer } = await signInCustomer(store, email, await shopper());
    await customer.get('/');
    const signedInAt = (await sessionOf(customer)).lastSeenAt;
    now = new Date(now.getTime() + 30_000);
    expect(await loads(async () => expect(signedInOn(await customer.get('/'))).toBe(true))).toEqual({ chain: 0, reads: 1 });
    expect((await sessionOf(customer)).lastSeenAt).toBe(signedInAt);
    now = new Date(now.getTime() + 31_000);
    expect(signedInOn(await customer.get('/'))).toBe(true);
    expect((await sessionOf(customer)).lastSeenAt).toBe(now.getTime());
    now = new Date(now.getTime() + 61 * 60_000);
    const timedOut = await customer.get('/');
    expect(signedInOn(timedOut)).toBe(false);
    expect(timedOut.text).toContain('You were signed out after a while without activity');
    const data = await sessionOf(customer);
    expect(data.customerId).toBeUndefined();
    expect(data.basket).toEqual({ releases: [], tracks: [trackId] });
  });

  it.skipIf(skip)('extends a row due its extension, and gives a session without a CSRF token its token, through the chain', async () => {
    const browser = await shopper();
    await browser.get('/');
    // Six days left: the cookie is renewed to seven, so the row is due (the store extends it once ten minutes behind).
    const sixDays = toDbTime(new Date(Date.now() + 6 * 24 * 3600_000));
    await store.database.db.updateTable('sessions').set({ expires_at: sixDays }).where('sid', '=', sidOf(browser)).execute();
    expect(await loads(() => browser.get('/'))).toEqual({ chain: 1, reads: 2 });
    expect((await row(browser)).expires_at > toDbTime(new Date(Date.now() + 7 * 24 * 3600_000 - 60_000))).toBe(true);

    await rewrite(browser, (data) => delete data.csrfToken);
    const page = await browser.get(`/release/${release.slug}`);
    const token = page.html.querySelector('input[name="_csrf"]')!.getAttribute('value')!;
    expect(token).not.toMatch(/^v\./);
    expect((await sessionOf(browser)).csrfToken).toBe(token);
    expect((await browser.post('/basket/add', { kind: 'release', id: String(release.id), _csrf: token })).status).toBe(303);
  });

  it.skipIf(skip)('takes only a session cookie signed with the secret', async () => {
    const browser = await shopper();
    await browser.get('/');
    const cookie = browser.cookie('sid')!;
    const forged = new Shopper(store.baseUrl);
    forged.setCookie('sid', `${cookie.slice(0, -3)}${cookie.endsWith('AAA') ? 'BBB' : 'AAA'}`);
    // express-session, too, takes it for no session at all: nothing is read.
    expect(await loads(async () => expect(badgeIn(await forged.get('/'))).toBeUndefined())).toEqual({ chain: 0, reads: 0 });
    const unsigned = new Shopper(store.baseUrl);
    unsigned.setCookie('sid', sidOf(browser));
    expect(badgeIn(await unsigned.get('/'))).toBeUndefined();
    expect(badgeIn(await browser.get('/'))).toBe('1');
  });
});
