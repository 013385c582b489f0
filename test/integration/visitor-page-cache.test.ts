import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from '../helpers/databases.js';
import { Shopper } from '../helpers/shopper.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

/**
 * The whole-page cache for visitors without a session (src/catalogue/visitor-page-cache.ts). A page
 * rendered afresh carries the visitor CSRF token of the current ten minutes; a page from this
 * cache still carries the one it was rendered with, which tells the two apart.
 */
describe.each(databaseKinds())('shared catalogue pages for visitors without a session on $kind', ({ kind, skip }) => {
  let store: TestStore;
  let slug: string;
  // Five seconds before a visitor-token step (600 s), so the next step comes within the cache's 10 s.
  let now = new Date(Date.UTC(2026, 10, 20, 12, 9, 55));

  beforeAll(async () => {
    if (skip) return;
    store = await startTestStore(kind, { env: { CATALOGUE_CACHE_SECONDS: '10' }, clock: () => now });
    slug = (await store.database.db.selectFrom('releases').select('slug').orderBy('id').executeTakeFirstOrThrow()).slug;
  });
  afterAll(async () => store?.close());

  const tokenIn = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1];

  it.skipIf(skip)('serves the page rendered first, with its ETag and security headers, until it expires; a visitor with a session gets a fresh one', async () => {
    const first = await fetch(`${store.baseUrl}/release/${slug}`);
    const firstHtml = await first.text();
    now = new Date(now.getTime() + 8_000);
    const second = await fetch(`${store.baseUrl}/release/${slug}`);
    const secondHtml = await second.text();
    expect(secondHtml).toBe(firstHtml);
    expect(second.headers.get('etag')).toBe(first.headers.get('etag'));
    expect(second.headers.get('content-type')).toMatch(/^text\/html/);
    expect(second.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(second.headers.get('set-cookie')).toBeNull();
    // Revalidation works against the cached page (fetch would otherwise add Cache-Control: no-cache to a conditional request).
    expect((await fetch(`${store.baseUrl}/release/${slug}`, { headers: { 'if-none-match': first.headers.get('etag')!, 'cache-control': 'max-age=0' } })).status).toBe(304);

    // Rendered now, the page would carry the new ten minutes' token: a shopper with a session gets exactly that.
    const shopper = new Shopper(store.baseUrl);
    await shopper.post('/basket/add', { kind: 'release', id: '1', _csrf: tokenIn(firstHtml)! });
    expect(shopper.cookie('sid')).toBeDefined();
    const own = await shopper.get(`/release/${slug}`);
    expect(tokenIn(own.text)).not.toBe(tokenIn(firstHtml));

    now = new Date(now.getTime() + 3_000);
    const expired = await (await fetch(`${store.baseUrl}/release/${slug}`)).text();
    expect(tokenIn(expired)).toMatch(/^a\./);
    expect(tokenIn(expired)).not.toBe(tokenIn(firstHtml));
  });
});
