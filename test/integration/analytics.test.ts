import { execFile } from 'node:child_process';
import http from 'node:http';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBot, pagePath, referringDomain } from '../../src/analytics/page-view.js';
import { addUsage, usageSummary } from '../../src/analytics/repository.js';
import { DailyBudget, OTHER } from '../../src/analytics/usage-stats.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { databaseKinds } from '../helpers/databases.js';
import { startTestStore, type TestStore } from '../helpers/store.js';
import { STORE_BIN, storeCliEnv } from '../helpers/cli.js';

const run = promisify(execFile);
const DAY_MS = 24 * 3600_000;
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0 analytics-test-ua-1';
const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 analytics-test-ua-2';
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

interface Visit {
  status: number;
  headers: http.IncomingHttpHeaders;
}

/** A GET with exactly these headers (fetch would add a User-Agent of its own). */
function visit(baseUrl: string, pathAndQuery: string, headers: Record<string, string> = {}): Promise<Visit> {
  return new Promise((resolve, reject) => {
    // No keep-alive: a socket kept from before a restart would hang up.
    const request = http.get(`${baseUrl}${pathAndQuery}`, { headers, agent: false }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers }));
    });
    request.on('error', reject);
  });
}

describe('what a request counts as', () => {
  it('keeps the path without query, trailing slash or private tokens, and ignores assets and callbacks', () => {
    expect(pagePath('/release/some-album?q=secret&a=1')).toBe('/release/some-album');
    expect(pagePath('/artist/x/')).toBe('/artist/x');
    expect(pagePath('/')).toBe('/');
    expect(pagePath('/orders/K7Q2ZP4M')).toBe('/orders/:reference');
    expect(pagePath('/account/link/abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG')).toBe('/account/link/:token');
    expect(pagePath('/unsubscribe/abc.def')).toBe('/unsubscribe/:token');
    expect(pagePath(`/search/${'x'.repeat(500)}`)).toHaveLength(190);
    for (const notAPage of [
      '/static/css/site.css',
      '/preview/1.mp3',
      '/cover/3',
      '/healthz',
      '/webhooks/paypal',
      '/sandbox/messages',
      '/admin',
      '/admin/orders',
      '/download/track/1',
    ]) {
      expect(pagePath(notAPage)).toBeNull();
    }
    expect(pagePath('/administrators-guide')).toBe('/administrators-guide');
    // Spellings a route accepts as one page are one row.
    expect(pagePath('/Release/Some-Album/')).toBe('/release/some-album');
    expect(pagePath('/release/%73ome-album')).toBe('/release/some-album');
    expect(pagePath('//release//some-album')).toBe('/release/some-album');
    expect(pagePath('/search/caf%C3%A9')).toBe('/search/caf%c3%a9');
    expect(pagePath('/Admin/Orders')).toBeNull();
    expect(pagePath('/Orders/K7Q2ZP4M')).toBe('/orders/:reference');
  });

  it('reads USAGE_STATS as a flag, on by default', () => {
    expect(loadConfig({}).usageStats).toBe(true);
    expect(loadConfig({ USAGE_STATS: 'false' }).usageStats).toBe(false);
    expect(loadConfig({ USAGE_STATS: '' }).usageStats).toBe(true);
    expect(() => loadConfig({ USAGE_STATS: 'sometimes' })).toThrow(ConfigError);
  });

  it('counts at most a budget of distinct paths or domains a day; the rest as (other)', () => {
    const budget = new DailyBudget(2);
    expect(budget.admit('2026-01-01', 'a.example')).toBe('a.example');
    expect(budget.admit('2026-01-01', 'b.example')).toBe('b.example');
    expect(budget.admit('2026-01-01', 'c.example')).toBe(OTHER);
    expect(budget.admit('2026-01-01', 'a.example')).toBe('a.example');
    expect(budget.admit('2026-01-02', 'c.example')).toBe('c.example');
  });

  it('takes only the host name of another site as the referrer', () => {
    expect(referringDomain('https://www.Example.org/blog/post?id=7#x', ['shop.test'])).toBe('www.example.org');
    expect(referringDomain('https://shop.test/release/x', ['shop.test'])).toBeNull();
    expect(referringDomain('http://192.168.1.20/page', ['shop.test'])).toBeNull();
    expect(referringDomain('http://[2001:db8::1]/page', ['shop.test'])).toBeNull();
    expect(referringDomain('android-app://com.example.app/', ['shop.test'])).toBeNull();
    expect(referringDomain('not a url', ['shop.test'])).toBeNull();
    expect(referringDomain(undefined, ['shop.test'])).toBeNull();
  });

  it('treats crawlers, scripts and a missing User-Agent as bots, and browsers as people', () => {
    expect(isBot(GOOGLEBOT)).toBe(true);
    expect(isBot('curl/8.5.0')).toBe(true);
    expect(isBot(undefined)).toBe(true);
    expect(isBot('')).toBe(true);
    expect(isBot(FIREFOX)).toBe(false);
    expect(isBot(CHROME)).toBe(false);
  });
});

describe.each(databaseKinds())('first-party usage statistics on $kind', ({ kind, skip }) => {
  let store: TestStore;
  // Days are counted back from the real today, so `npx store stats` (which reads today's date) sees them.
  const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
  let now = new Date(today - 9 * DAY_MS + 12 * 3600_000);
  const dayOf = (date: Date) => date.toISOString().slice(0, 10);
  let releaseSlug: string;

  beforeAll(async () => {
    if (skip) return;
    // Behind a proxy on loopback, so X-Forwarded-For gives each test visitor an address of their own.
    store = await startTestStore(kind, { clock: () => now, env: { TRUST_PROXY: 'loopback', PUBLIC_URL: 'https://shop.test' } });
    releaseSlug = (await store.database.db.selectFrom('releases').select('slug').orderBy('id').executeTakeFirstOrThrow()).slug;
  });
  afterAll(async () => store?.close());

  const db = () => store.database.db;
  const get = (p: string, headers: Record<string, string> = {}) =>
    visit(store.baseUrl, p, { 'user-agent': FIREFOX, 'x-forwarded-for': '203.0.113.7', ...headers });
  const flush = () => store.app.usageStats!.flush();
  const views = (day: string) => db().selectFrom('page_views').select(['path', 'views']).where('day', '=', day).orderBy('path').execute();
  const visitors = async (day: string) =>
    (await db().selectFrom('daily_visitors').select('visitors').where('day', '=', day).executeTakeFirst())?.visitors ?? 0;

  it.skipIf(skip)('counts successful HTML pages per day and path; not assets, errors, redirects or plain text', async () => {
    now = new Date(today - 9 * DAY_MS + 10 * 3600_000);
    expect((await get('/')).status).toBe(200);
    expect((await get(`/release/${releaseSlug}`)).status).toBe(200);
    expect((await get(`/release/${releaseSlug}?from=newsletter`)).status).toBe(200);
    expect((await get('/search?q=private+words')).status).toBe(200);
    expect((await get('/no-such-page')).status).toBe(404);
    expect((await get('/release/no-such-release')).status).toBe(404);
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/static/css/store.css')).status).toBe(200);
    expect((await get('/robots.txt')).status).toBe(200); // text/plain: not a page
    expect((await get('/account/music')).status).toBe(303); // a redirect is not a page seen
    await flush();
    expect(await views(dayOf(now))).toEqual([
      { path: '/', views: 1 },
      { path: `/release/${releaseSlug}`, views: 2 },
      { path: '/search', views: 1 },
    ]);

    now = new Date(now.getTime() + DAY_MS);
    await get('/');
    await flush();
    expect(await views(dayOf(now))).toEqual([{ path: '/', views: 1 }]);
    expect((await views(dayOf(new Date(now.getTime() - DAY_MS)))).find((r) => r.path === '/')!.views).toBe(1);
  });

  it.skipIf(skip)('does not count bots or requests without a User-Agent', async () => {
    now = new Date(today - 7 * DAY_MS + 12 * 3600_000);
    expect((await get('/privacy', { 'user-agent': GOOGLEBOT })).status).toBe(200);
    expect((await get('/privacy', { 'user-agent': 'curl/8.5.0' })).status).toBe(200);
    expect((await visit(store.baseUrl, '/privacy')).status).toBe(200); // no User-Agent at all
    await flush();
    expect(await views(dayOf(now))).toEqual([]);
    expect(await visitors(dayOf(now))).toBe(0);
    await get('/privacy');
    await flush();
    expect(await views(dayOf(now))).toEqual([{ path: '/privacy', views: 1 }]);
    expect(await visitors(dayOf(now))).toBe(1);
  });

  it.skipIf(skip)('estimates unique visitors from address and browser: different ones count, the same one once', async () => {
    now = new Date(today - 6 * DAY_MS + 8 * 3600_000);
    await get('/', { 'x-forwarded-for': '198.51.100.1' });
    await get('/privacy', { 'x-forwarded-for': '198.51.100.1' }); // the same visitor again
    await get('/', { 'x-forwarded-for': '198.51.100.2' }); // another address
    await flush();
    expect(await visitors(dayOf(now))).toBe(2);
    await get('/', { 'x-forwarded-for': '198.51.100.1', 'user-agent': CHROME }); // another browser at the first address
    await get('/contact', { 'x-forwarded-for': '198.51.100.2' });
    await flush();
    expect(await visitors(dayOf(now))).toBe(3);
    expect((await views(dayOf(now))).reduce((n, r) => n + r.views, 0)).toBe(5);
  });

  it.skipIf(skip)("forgets the day's visitors at UTC midnight: the same visitor counts again the next day", async () => {
    now = new Date(today - 5 * DAY_MS + 23 * 3600_000 + 59 * 60_000);
    const first = dayOf(now);
    await get('/', { 'x-forwarded-for': '192.0.2.50' });
    await get('/', { 'x-forwarded-for': '192.0.2.50' });
    now = new Date(now.getTime() + 2 * 60_000); // 00:01 the next day
    const second = dayOf(now);
    expect(second).not.toBe(first);
    await get('/', { 'x-forwarded-for': '192.0.2.50' });
    await get('/', { 'x-forwarded-for': '192.0.2.50' });
    await flush();
    expect(await visitors(first)).toBe(1);
    expect(await visitors(second)).toBe(1);
    // And back to the first day (a clock corrected backwards): a fresh set again, not the old one.
    now = new Date(now.getTime() - 2 * 60_000);
    await get('/', { 'x-forwarded-for': '192.0.2.50' });
    await flush();
    expect(await visitors(first)).toBe(2);
  });

  it.skipIf(skip)("stores the referring site's host name only, and not our own host", async () => {
    now = new Date(today - 4 * DAY_MS + 12 * 3600_000);
    await get('/', { referer: 'https://news.example.org/2026/11/best-new-music?utm_source=x&user=alice' });
    await get(`/release/${releaseSlug}`, { referer: 'https://news.example.org/other' });
    await get('/', { referer: 'https://shop.test/search?q=x' }); // moving around the store (PUBLIC_URL)
    await get('/', { referer: 'http://localhost:8080/basket', host: 'localhost:8080' }); // the host the request came to
    await get('/', { referer: 'https://WWW.Blog.Example.NET/p/1' });
    await get('/no-such-page', { referer: 'https://spam.example.com/' }); // a 404: not counted
    await flush();
    const rows = await db()
      .selectFrom('page_referrers')
      .select(['domain', 'views'])
      .where('day', '=', dayOf(now))
      .orderBy('domain')
      .execute();
    expect(rows).toEqual([
      { domain: 'news.example.org', views: 2 },
      { domain: 'www.blog.example.net', views: 1 },
    ]);
  });

  it.skipIf(skip)('sets no counting cookie on a visit, and keeps no address or browser name anywhere in the database', async () => {
    now = new Date(today - 3 * DAY_MS + 12 * 3600_000);
    for (const p of ['/', `/release/${releaseSlug}`, '/privacy', '/search?q=a']) {
      const page = await get(p, { 'x-forwarded-for': '203.0.113.199' });
      expect(page.status).toBe(200);
      // Counting sets nothing; the one cookie a first visit may get binds its forms to it (csrf, in the policy), holding a random value only.
      const cookies = ([] as string[]).concat(page.headers['set-cookie'] ?? []).map((c) => c.split('=')[0]);
      expect(cookies.filter((name) => name !== 'csrf')).toEqual([]);
    }
    await flush();
    expect(await visitors(dayOf(now))).toBe(1);
    const tables =
      store.database.dialect === 'mysql'
        ? (
            await sql<{
              name: string;
            }>`select table_name as name from information_schema.tables where table_schema = database() and table_type = 'BASE TABLE'`.execute(
              db(),
            )
          ).rows
        : (await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(db())).rows;
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['page_views', 'page_referrers', 'daily_visitors']));
    let everything = '';
    for (const { name } of tables) {
      everything += JSON.stringify((await sql`select * from ${sql.table(name)}`.execute(db())).rows);
    }
    expect(everything).toContain('/privacy'); // the scan does read the statistics
    for (const secret of [
      '203.0.113.',
      '198.51.100.',
      '192.0.2.50',
      'analytics-test-ua',
      'Firefox',
      'Chrome/131',
      'private words',
      'utm_source',
      'alice',
    ]) {
      expect(everything).not.toContain(secret);
    }
  });

  it.skipIf(skip)('writes the counts still buffered when the app closes (a restart loses none)', async () => {
    now = new Date(today - 15 * DAY_MS + 12 * 3600_000);
    await get('/privacy');
    await get('/contact');
    expect(await views(dayOf(now))).toEqual([]); // still in memory
    await store.restart();
    expect(await views(dayOf(now))).toEqual([
      { path: '/contact', views: 1 },
      { path: '/privacy', views: 1 },
    ]);
    expect(await visitors(dayOf(now))).toBe(1);
  });

  it.skipIf(skip)('keeps the counts a failed write could not add, and adds them at the next flush', async () => {
    now = new Date(today - 16 * DAY_MS + 12 * 3600_000);
    await sql`alter table page_views rename to page_views_away`.execute(db());
    try {
      await get('/privacy');
      await get('/privacy');
      await flush(); // fails: the table is not there
    } finally {
      await sql`alter table page_views_away rename to page_views`.execute(db());
    }
    expect(await views(dayOf(now))).toEqual([]);
    await get('/privacy');
    await flush();
    expect(await views(dayOf(now))).toEqual([{ path: '/privacy', views: 3 }]);
    expect(await visitors(dayOf(now))).toBe(1);
  });

  it.skipIf(skip)('adds counts from concurrent writers without losing any (several processes share the rows)', async () => {
    const day = dayOf(new Date(today - 20 * DAY_MS));
    await Promise.all(Array.from({ length: 20 }, () => addUsage(db(), { table: 'page_views', day, path: '/concurrent', count: 3 })));
    await Promise.all(Array.from({ length: 10 }, () => addUsage(db(), { table: 'daily_visitors', day, count: 2 })));
    expect(await views(day)).toEqual([{ path: '/concurrent', views: 60 }]);
    expect(await visitors(day)).toBe(20);
  });

  it.skipIf(skip)('summarises days, top pages and referrers for the operator, and prints them with `store stats`', async () => {
    const from = dayOf(new Date(today - 9 * DAY_MS));
    const to = dayOf(new Date(today - 3 * DAY_MS));
    const summary = await usageSummary(db(), from, to, { top: 3 });
    expect(summary.days).toHaveLength(7);
    expect(summary.days[0]).toEqual({ day: from, views: 4, visitors: 1 });
    expect(summary.days.find((d) => d.day === dayOf(new Date(today - 6 * DAY_MS)))).toMatchObject({ views: 5, visitors: 3 });
    expect(summary.totals.views).toBe(summary.days.reduce((n, d) => n + d.views, 0));
    expect(summary.topPaths).toHaveLength(3);
    expect(summary.topPaths[0]!.path).toBe('/');
    expect(summary.topPaths[0]!.views).toBeGreaterThanOrEqual(summary.topPaths[1]!.views);
    expect(summary.topReferrers).toEqual([
      { domain: 'news.example.org', views: 2 },
      { domain: 'www.blog.example.net', views: 1 },
    ]);
    await expect(usageSummary(db(), to, from)).rejects.toThrow(RangeError);
    await expect(usageSummary(db(), '2026-1-1', to)).rejects.toThrow(RangeError);

    const env = storeCliEnv(store);
    const { stdout } = await run('node', [STORE_BIN, 'stats', '--days', '12', '--top', '5'], { env });
    expect(stdout).toMatch(new RegExp(`^${from}\\s+4\\s+1$`, 'm'));
    expect(stdout).toMatch(/^news\.example\.org\s+2$/m);
    expect(stdout).toMatch(new RegExp(`^${dayOf(new Date(today))}\\s+0\\s+0$`, 'm'));
    expect(stdout).toMatch(/^total\s+\d+\s+\d+$/m);
    const bad = await run('node', [STORE_BIN, 'stats', '--days', 'lots'], { env }).catch((e: { code: number; stderr: string }) => e);
    expect((bad as { code: number }).code).not.toBe(0);
  });

  it.skipIf(skip)('says in the privacy policy what is counted, and that no cookie and no IP address is kept', async () => {
    const page = await get('/privacy');
    expect(page.status).toBe(200);
    const html = await (await fetch(`${store.baseUrl}/privacy`)).text();
    expect(html).toContain('Usage statistics');
    expect(html).toMatch(/no cookie/);
    expect(html).toMatch(/do not keep your IP address/);
  });
});

describe.each(databaseKinds())('usage statistics switched off on $kind', ({ kind, skip }) => {
  let store: TestStore;
  beforeAll(async () => {
    if (skip) return;
    store = await startTestStore(kind, { stock: false, env: { USAGE_STATS: 'false' } });
  });
  afterAll(async () => store?.close());

  it.skipIf(skip)('counts nothing with USAGE_STATS=false, and the policy says so', async () => {
    expect(store.app.usageStats).toBeNull();
    expect((await visit(store.baseUrl, '/privacy', { 'user-agent': FIREFOX })).status).toBe(200);
    expect(await store.database.db.selectFrom('page_views').selectAll().execute()).toEqual([]);
    expect(await store.database.db.selectFrom('daily_visitors').selectAll().execute()).toEqual([]);
    const html = await (await fetch(`${store.baseUrl}/privacy`)).text();
    expect(html).toContain('We do not count page views or visitors ourselves.');
  });
});
