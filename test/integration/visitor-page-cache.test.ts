import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from '../helpers/databases.js';
import { Shopper } from '../helpers/shopper.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

/**
 * The whole-page cache for visitors without a session (src/catalogue/visitor-page-cache.ts). A
 * cached page is the same for everyone except each visitor's own CSRF token, filled in as it goes
 * out; a change to the catalogue shows once the page expires.
 */
describe.each(databaseKinds())('shared catalogue pages for visitors without a session on $kind', ({ kind, skip }) => {
  let store: TestStore;
  let slug: string;
  let now = new Date(Date.UTC(2026, 10, 20, 12, 9, 55));

  beforeAll(async () => {
    if (skip) return;
    store = await startTestStore(kind, { env: { CATALOGUE_CACHE_SECONDS: '10' }, clock: () => now });
    slug = (await store.database.db.selectFrom('releases').select('slug').orderBy('id').executeTakeFirstOrThrow()).slug;
  });
  afterAll(async () => store?.close());

  const tokenIn = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  const withoutTokens = (html: string) => html.replace(/name="_csrf" value="[^"]+"/g, '');
  const visitorCookie = (response: Response) => /(?:^|;\s*)csrf=([^;]+)/.exec(response.headers.getSetCookie().join('; '))?.[1];

  it.skipIf(skip)('serves the page rendered first, with its ETag and security headers, until it expires; each visitor gets their own token in it', async () => {
    const first = await fetch(`${store.baseUrl}/release/${slug}`);
    const firstHtml = await first.text();
    await store.database.db.updateTable('releases').set({ title: 'Renamed While Cached' }).where('slug', '=', slug).execute();
    now = new Date(now.getTime() + 8_000);
    const second = await fetch(`${store.baseUrl}/release/${slug}`);
    const secondHtml = await second.text();
    expect(withoutTokens(secondHtml)).toBe(withoutTokens(firstHtml));
    expect(secondHtml).not.toContain('Renamed While Cached');
    // Two visitors, two cookies, two tokens: the cached page never hands one visitor's token to another.
    expect(tokenIn(secondHtml)).toMatch(/^v\./);
    expect(tokenIn(secondHtml)).not.toBe(tokenIn(firstHtml));
    expect(visitorCookie(second)).toBeDefined();
    expect(visitorCookie(second)).not.toBe(visitorCookie(first));
    expect(second.headers.getSetCookie().every((c) => c.startsWith('csrf='))).toBe(true);
    expect(second.headers.get('content-type')).toMatch(/^text\/html/);
    expect(second.headers.get('content-security-policy')).toContain("default-src 'self'");
    // The same visitor again: the same page and token, no new cookie, and revalidation still answers 304.
    const cookie = `csrf=${visitorCookie(first)}`;
    const again = await fetch(`${store.baseUrl}/release/${slug}`, { headers: { cookie } });
    expect(await again.text()).toBe(firstHtml);
    expect(again.headers.get('set-cookie')).toBeNull();
    expect(again.headers.get('etag')).toBe(first.headers.get('etag'));
    expect((await fetch(`${store.baseUrl}/release/${slug}`, { headers: { cookie, 'if-none-match': first.headers.get('etag')!, 'cache-control': 'max-age=0' } })).status).toBe(304);

    // A token from the cached page works for its own visitor only.
    const other = new Shopper(store.baseUrl);
    other.setCookie('csrf', visitorCookie(second)!);
    expect((await other.post('/basket/add', { kind: 'release', id: '1', _csrf: tokenIn(firstHtml)! })).status).toBe(403);
    const shopper = new Shopper(store.baseUrl);
    shopper.setCookie('csrf', visitorCookie(first)!);
    expect((await shopper.post('/basket/add', { kind: 'release', id: '1', _csrf: tokenIn(firstHtml)! })).status).toBe(303);
    expect(shopper.cookie('sid')).toBeDefined();
    const own = await shopper.get(`/release/${slug}`);
    expect(tokenIn(own.text)).not.toMatch(/^v\./);

    now = new Date(now.getTime() + 3_000);
    expect(await (await fetch(`${store.baseUrl}/release/${slug}`)).text()).toContain('Renamed While Cached');
  });
});
