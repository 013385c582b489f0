import { parse } from 'node-html-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toDbTime } from '../../src/db/dialect.js';
import { shelfSize } from '../../src/catalogue/service.js';
import { databaseKinds } from '../helpers/databases.js';
import { Shopper } from '../helpers/shopper.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

const NOW = new Date('2026-11-20T12:00:00Z');

describe.each(databaseKinds())('catalogue pages on $kind', ({ kind, skip }) => {
  let store: TestStore;
  const get = (path: string, init?: RequestInit) => fetch(store.baseUrl + path, { redirect: 'manual', ...init });
  const page = async (path: string) => {
    const response = await get(path);
    return { response, html: parse(await response.text()) };
  };
  const anyRelease = () =>
    store.database.db
      .selectFrom('releases')
      .innerJoin('artists', 'artists.id', 'releases.artist_id')
      .select(['releases.id', 'releases.slug', 'releases.title', 'artists.name as artist', 'artists.slug as artist_slug'])
      .orderBy('releases.id')
      .executeTakeFirstOrThrow();

  beforeAll(async () => {
    if (!skip) store = await startTestStore(kind, { clock: () => NOW });
  });
  afterAll(async () => store?.close());

  it.skipIf(skip)('serves a home page with new releases, a chart that falls back to the newest, and genres', async () => {
    const { response, html } = await page('/');
    expect(response.status).toBe(200);
    expect(html.querySelector('title')!.text).toContain('Music downloads');
    expect(html.querySelector('meta[name="description"]')!.getAttribute('content')).toBeTruthy();
    const newest = await store.database.db
      .selectFrom('releases')
      .select('title')
      .orderBy('release_date', 'desc')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(html.querySelector('#new-releases + .grid .card__title')!.text).toBe(newest.title);
    expect(html.querySelector('#chart')!.text).toBe('Just added');
    // The shelf fills whole rows of six and the list below carries on from it: no release twice.
    const releaseCount = (
      await store.database.db
        .selectFrom('releases')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n;
    const shelf = html.querySelectorAll('#new-releases + .grid .card__title').map((a) => a.getAttribute('href'));
    const listed = html.querySelectorAll('.chart__text a:first-child').map((a) => a.getAttribute('href'));
    expect(shelf).toHaveLength(shelfSize(Number(releaseCount)));
    expect(shelf.length % 6).toBe(0);
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.filter((href) => shelf.includes(href))).toEqual([]);
    const genres = await store.database.db.selectFrom('genres').select('name').execute();
    expect(
      html
        .querySelectorAll('.genre-list a')
        .map((a) => a.text)
        .sort(),
    ).toEqual(genres.map((g) => g.name).sort());
  });

  it.skipIf(skip)('ranks best sellers by paid orders of the last 7 days only', async () => {
    const releases = await store.database.db.selectFrom('releases').select(['id', 'title']).orderBy('id').limit(3).execute();
    const [a, b, old] = releases;
    const day = 24 * 3600 * 1000;
    const order = async (ref: string, status: 'paid' | 'pending', paidAgoMs: number, releaseIds: number[]) => {
      const paidAt = toDbTime(new Date(NOW.getTime() - paidAgoMs));
      const result = await store.database.db
        .insertInto('orders')
        .values({
          reference: ref,
          status,
          total_pence: 100,
          currency: 'GBP',
          payment_method: 'paypal',
          affiliate_id: null,
          customer_id: null,
          age_confirmed_at: paidAt,
          marketing_opt_in: 0,
          created_at: paidAt,
          expires_at: paidAt,
          paid_at: status === 'paid' ? paidAt : null,
          updated_at: paidAt,
        })
        .executeTakeFirstOrThrow();
      for (const releaseId of releaseIds) {
        await store.database.db
          .insertInto('order_items')
          .values({ order_id: Number(result.insertId), release_id: releaseId, track_id: null, title: 'x', price_pence: 100 })
          .execute();
      }
    };
    await order('T-1', 'paid', day, [b!.id]);
    await order('T-2', 'paid', 2 * day, [b!.id, a!.id]);
    await order('T-3', 'paid', 8 * day, [old!.id, old!.id, old!.id]);
    await order('T-4', 'pending', 0, [old!.id, old!.id, old!.id]);

    const { html } = await page('/');
    expect(html.querySelector('#chart')!.text).toBe('Best sellers this week');
    const chart = html.querySelectorAll('.chart__text a:first-child').map((el) => el.text);
    expect(chart).toEqual([b!.title, a!.title]);
  });

  it.skipIf(skip)('shows an artist page with their releases', async () => {
    const release = await anyRelease();
    const { response, html } = await page(`/artist/${release.artist_slug}`);
    expect(response.status).toBe(200);
    expect(html.querySelector('h1')!.text).toBe(release.artist);
    expect(html.querySelectorAll('#releases + .grid .card__title').map((a) => a.text)).toContain(release.title);
  });

  it.skipIf(skip)('shows a release page with cover art, tracks, durations and prices, honouring price overrides', async () => {
    const release = await anyRelease();
    const tracks = await store.database.db
      .selectFrom('tracks')
      .select(['id', 'title', 'duration_ms'])
      .where('release_id', '=', release.id)
      .orderBy('track_number')
      .execute();
    await store.database.db.updateTable('tracks').set({ price_pence: 129 }).where('id', '=', tracks[0]!.id).execute();
    await store.database.db.updateTable('releases').set({ price_pence: 450 }).where('id', '=', release.id).execute();

    const { response, html } = await page(`/release/${release.slug}`);
    expect(response.status).toBe(200);
    expect(html.querySelector('title')!.text).toContain(`${release.title} by ${release.artist}`);
    expect(html.querySelector('.release__cover img')!.getAttribute('src')).toMatch(new RegExp(`^/cover/${release.id}/large\\?v=\\d+$`));
    const rows = html.querySelectorAll('table.tracks tbody tr');
    expect(rows.map((r) => r.querySelector('.tracks__title')!.text)).toEqual(tracks.map((t) => t.title));
    const seconds = Math.round(tracks[0]!.duration_ms / 1000);
    expect(rows[0]!.querySelectorAll('td.num')[1]!.text).toBe(`${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`);
    expect(rows[0]!.querySelectorAll('td.num')[2]!.text).toBe('£1.29');
    if (rows[1]) expect(rows[1].querySelectorAll('td.num')[2]!.text).toBe('£0.79');
    expect(html.querySelector('.release__price .price')!.text).toBe('£4.50');
    expect(rows[0]!.querySelector('a[data-preview]')!.getAttribute('href')).toBe(`/preview/${tracks[0]!.id}.mp3`);
  });

  it.skipIf(skip)('names the release type properly and shows only as much of the date as is known', async () => {
    const release = await anyRelease();
    await store.database.db
      .updateTable('releases')
      .set({ kind: 'ep', release_date: '2019-01-01', release_date_precision: 'year' })
      .where('id', '=', release.id)
      .execute();
    const yearOnly = (await page(`/release/${release.slug}`)).html;
    expect(yearOnly.querySelector('.release__buy button')!.text).toContain('Buy EP');
    expect(yearOnly.querySelector('.release__price')!.text).toContain('for the whole EP');
    const released = () => yearOnly.querySelectorAll('dt').find((dt) => dt.text === 'Released')!.nextElementSibling!.text;
    expect(released()).toBe('2019');
    await store.database.db
      .updateTable('releases')
      .set({ kind: 'album', release_date: '2019-06-14', release_date_precision: 'day' })
      .where('id', '=', release.id)
      .execute();
    const day = (await page(`/release/${release.slug}`)).html;
    expect(day.querySelectorAll('dt').find((dt) => dt.text === 'Released')!.nextElementSibling!.text).toBe('14 June 2019');
    expect(day.querySelector('.release__buy button')!.text).toContain('Buy album');
  });

  it.skipIf(skip)('prices a release at the album default, or its tracks when that is cheaper', async () => {
    const rows = await store.database.db
      .selectFrom('releases')
      .select([
        'slug',
        (eb) => eb.selectFrom('tracks').whereRef('tracks.release_id', '=', 'releases.id').select(eb.fn.countAll<number>().as('n')).as('n'),
      ])
      .where('price_pence', 'is', null)
      .execute();
    for (const row of rows.slice(0, 4)) {
      const { html } = await page(`/release/${row.slug}`);
      const expected = Math.min(699, Number(row.n) * 79);
      expect(html.querySelector('.release__price .price')!.text).toBe(`£${(expected / 100).toFixed(2)}`);
    }
  });

  it.skipIf(skip)('lists a genre with pagination', async () => {
    const genre = await store.database.db.selectFrom('genres').select(['slug', 'name', 'id']).executeTakeFirstOrThrow();
    const { response, html } = await page(`/genre/${genre.slug}`);
    expect(response.status).toBe(200);
    const count = await store.database.db
      .selectFrom('releases')
      .where('genre_id', '=', genre.id)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(html.querySelectorAll('.grid .card')).toHaveLength(Math.min(24, Number(count.n)));
    expect((await get(`/genre/${genre.slug}?page=zero`)).status).toBe(400);
  });

  it.skipIf(skip)('searches artists, releases and tracks by word prefix, grouped by kind', async () => {
    const release = await anyRelease();
    const prefix = release.artist
      .split(/\s+/)
      .find((w) => w.length >= 4)!
      .slice(0, 4)
      .toLowerCase();
    const { response, html } = await page(`/search?q=${encodeURIComponent(prefix)}`);
    expect(response.status).toBe(200);
    expect(html.querySelectorAll('#results-artist + .artist-list a').map((a) => a.text)).toContain(release.artist);
    expect(html.querySelector('#results-release')).not.toBeNull();

    const titleWord = release.title.split(/\s+/).find((w) => /^[A-Za-z]{3,}$/.test(w))!;
    const both = await page(`/search?q=${encodeURIComponent(`${titleWord.slice(0, 3).toUpperCase()} ${prefix}`)}`);
    expect(both.html.querySelectorAll('#results-release + .grid .card__title').map((a) => a.text)).toContain(release.title);

    const none = await page('/search?q=zzzzqqq');
    expect(none.html.querySelector('.empty')!.text).toContain('Nothing matched');
  });

  it.skipIf(skip)('pages through track results of one kind', async () => {
    const total = await store.database.db
      .selectFrom('tracks')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    // Every track's search words include its artist's; a query matching all artists is hard to
    // build, so page through one artist's tracks instead.
    const top = await store.database.db
      .selectFrom('tracks')
      .innerJoin('artists', 'artists.id', 'tracks.artist_id')
      .groupBy(['artists.id', 'artists.name'])
      .select(['artists.name', (eb) => eb.fn.countAll<number>().as('n')])
      .orderBy('n', 'desc')
      .executeTakeFirstOrThrow();
    expect(Number(total.n)).toBeGreaterThan(0);
    const q = encodeURIComponent(top.name);
    const first = await page(`/search?q=${q}&type=track`);
    const shown = first.html.querySelectorAll('table.tracks tbody tr').length;
    expect(shown).toBe(Math.min(20, Number(top.n)));
    if (Number(top.n) > 20) {
      const second = await page(`/search?q=${q}&type=track&page=2`);
      expect(second.html.querySelectorAll('table.tracks tbody tr').length).toBe(Math.min(20, Number(top.n) - 20));
    }
    expect((await get('/search?q=a&type=label')).status).toBe(400);
    expect((await get('/search?q=a&q=b')).status).toBe(400);
    // A pasted essay: told in a shopper's words, not "q is not valid".
    const long = await get(`/search?q=${'a'.repeat(5000)}`);
    expect(long.status).toBe(400);
    expect(await long.text()).toContain('Your search is too long: use at most 200 characters.');
  });

  it.skipIf(skip)('serves previews with HTTP Range support, and nothing outside the catalogue', async () => {
    const track = await store.database.db.selectFrom('tracks').select('id').executeTakeFirstOrThrow();
    const full = await get(`/preview/${track.id}.mp3`);
    expect(full.status).toBe(200);
    expect(full.headers.get('content-type')).toBe('audio/mpeg');
    expect(full.headers.get('accept-ranges')).toBe('bytes');
    const body = Buffer.from(await full.arrayBuffer());
    const part = await get(`/preview/${track.id}.mp3`, { headers: { Range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${body.length}`);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(body.subarray(100, 200));
    expect((await get(`/preview/${track.id}.mp3`, { headers: { Range: `bytes=${body.length + 10}-` } })).status).toBe(416);
    for (const path of [
      '/preview/999999.mp3',
      '/preview/..%2F..%2Fstore.sqlite',
      '/preview/1.mp3%00',
      '/preview/-1.mp3',
      '/media/tracks',
    ]) {
      expect((await get(path)).status).toBe(404);
    }
  });

  it.skipIf(skip)('serves cover art, a sitemap and a health check', async () => {
    const release = await anyRelease();
    const cover = await get(`/cover/${release.id}`);
    expect(cover.status).toBe(200);
    expect(cover.headers.get('content-type')).toMatch(/^image\//);
    const sitemap = await (await get('/sitemap.xml')).text();
    expect(sitemap).toContain(`/release/${release.slug}</loc>`);
    expect(sitemap).toContain(`/artist/${release.artist_slug}</loc>`);
    const health = await get('/healthz');
    expect(await health.json()).toEqual({ status: 'ok', database: 'up' });
  });

  it.skipIf(skip)('sends security headers, sets no cookie while browsing, and rejects a form post without a CSRF token', async () => {
    const response = await get('/');
    const csp = response.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(response.headers.get('x-powered-by')).toBeNull();
    expect(response.headers.get('set-cookie')).toBeNull();
    const post = await get('/', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' });
    expect(post.status).toBe(403);
    expect(await post.text()).toContain('This form has expired');
  });

  it.skipIf(skip)('answers unknown pages and bad slugs with a 404 page that reveals nothing', async () => {
    for (const path of ['/nope', '/artist/does-not-exist', '/release/%E2%80%AE%3Cscript%3E', '/genre/UPPER']) {
      const response = await get(path);
      expect(response.status).toBe(404);
      const text = await response.text();
      expect(text).toContain('We could not find');
      expect(text).not.toMatch(/at .*\.ts:\d+|node_modules|Error:/);
    }
  });

  it.skipIf(skip)('escapes what it echoes back', async () => {
    const text = await (await get('/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E')).text();
    expect(text).not.toContain('<script>alert(1)</script>');
    expect(text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });
});

describe.each(databaseKinds())('catalogue page cache on $kind', ({ kind, skip }) => {
  it.skipIf(skip)('reuses page data for its lifetime, then reads the catalogue again; checkout prices are never cached', async () => {
    let now = new Date('2026-11-20T12:00:00Z');
    const store = await startTestStore(kind, { env: { CATALOGUE_CACHE_SECONDS: '10' }, clock: () => now });
    try {
      const release = await store.database.db
        .selectFrom('releases')
        .select(['id', 'slug', 'title'])
        .orderBy('id')
        .executeTakeFirstOrThrow();
      const title = async () => parse(await (await fetch(`${store.baseUrl}/release/${release.slug}`)).text()).querySelector('h1')!.text;
      expect(await title()).toBe(release.title);
      await store.database.db
        .updateTable('releases')
        .set({ title: 'Renamed Release', price_pence: 111 })
        .where('id', '=', release.id)
        .execute();
      now = new Date(now.getTime() + 9_000);
      expect(await title()).toBe(release.title);
      const shopper = new Shopper(store.baseUrl);
      await shopper.get(`/release/${release.slug}`);
      await shopper.post('/basket/add', { kind: 'release', id: String(release.id) });
      expect((await shopper.get('/basket')).html.querySelector('.basket .total')!.text).toBe('£1.11');
      // A visitor with a session gets a page made for them (their basket), never the shared one.
      const own = await shopper.get(`/release/${release.slug}`);
      expect(own.html.querySelector('.site-nav .badge')!.text).toBe('1');
      expect(own.html.querySelector('input[name="_csrf"]')!.getAttribute('value')).not.toMatch(/^v\./);
      const shared = parse(await (await fetch(`${store.baseUrl}/release/${release.slug}`)).text());
      expect(shared.querySelector('.site-nav .badge')).toBeNull();
      expect(shared.querySelector('input[name="_csrf"]')!.getAttribute('value')).toMatch(/^v\./);
      now = new Date(now.getTime() + 2_000);
      expect(await title()).toBe('Renamed Release');
    } finally {
      await store.close();
    }
  });
});

describe.each(databaseKinds())('when the database stops answering, on $kind', ({ kind, skip }) => {
  it.skipIf(skip)('shows a plain apology with a 500, nothing internal, and /healthz says so with a 503', async () => {
    const store = await startTestStore(kind, { stock: false });
    await store.database.db.destroy();
    try {
      const page = await fetch(`${store.baseUrl}/artist/anyone`);
      expect(page.status).toBe(500);
      const html = await page.text();
      expect(html).toContain('Something went wrong on our side');
      const leak = /at \S+\.(ts|js):\d+|node_modules|SQLITE_|ER_[A-Z]|Kysely|driver has already been destroyed/i.exec(html);
      expect(leak?.[0]).toBeUndefined();
      const health = await fetch(`${store.baseUrl}/healthz`);
      expect(health.status).toBe(503);
    } finally {
      await store.close().catch(() => {});
    }
  });
});
