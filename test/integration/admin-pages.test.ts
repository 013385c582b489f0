import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commissionPence } from '../../src/affiliates/repository.js';
import { toDbTime } from '../../src/db/dialect.js';
import { queueMessage } from '../../src/notifications/outbox.js';
import { SESSION_COOKIE } from '../../src/privacy/cookies.js';
import { signInAsOperator } from '../helpers/admin.js';
import { databaseKinds } from '../helpers/databases.js';
import { makeMp3 } from '../helpers/mp3.js';
import { Shopper, type Page } from '../helpers/shopper.js';
import { signInCustomer } from '../helpers/sign-in.js';
import { startTestStore, type TestStore } from '../helpers/store.js';
import { zipOf } from '../helpers/zip.js';

const PNG_BYTES = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
    '1f15c4890000000d49444154789c63f8cfc0f01f0005000201' +
    'a5f6459d0000000049454e44ae426082',
  'hex',
);

describe.each(databaseKinds())('admin pages on $kind', ({ kind, skip }) => {
  let store: TestStore;
  let admin: Shopper;
  const db = () => store.database.db;

  /** Buys through the real checkout and PayPal stand-in; returns the signed-in customer's browser and the order. */
  const buy = async (
    email: string,
    item: { kind: 'release' | 'track'; id: number },
    options: { marketing?: boolean; affiliate?: number } = {},
  ) => {
    const shopper = new Shopper(store.baseUrl);
    if (options.affiliate) await shopper.get(`/?a=${options.affiliate}`);
    // A release page carries a form, so the shopper has a CSRF token to post with.
    const releaseId =
      item.kind === 'release'
        ? item.id
        : (await db().selectFrom('tracks').select('release_id').where('id', '=', item.id).executeTakeFirstOrThrow()).release_id;
    const { slug } = await db().selectFrom('releases').select('slug').where('id', '=', releaseId).executeTakeFirstOrThrow();
    await shopper.get(`/release/${slug}`);
    expect((await shopper.post('/basket/add', { kind: item.kind, id: String(item.id) })).status).toBe(303);
    await shopper.get('/checkout');
    const pay = await shopper.post('/checkout', { method: 'paypal', adult: 'yes', ...(options.marketing ? { marketing: 'yes' } : {}) });
    if (!pay.location)
      throw new Error(
        `checkout answered ${pay.status}: ${pay.text
          .replace(/<[^>]+>/g, ' ')
          .replace(/\s+/g, ' ')
          .slice(0, 600)}`,
      );
    const token = new URL(pay.location!).searchParams.get('token')!;
    const { redirectUrl } = store.paypal.control.approve(token, { email });
    await shopper.follow(await shopper.get(redirectUrl!));
    const order = await db()
      .selectFrom('orders')
      .innerJoin('customers', 'customers.id', 'orders.customer_id')
      .selectAll('orders')
      .where('customers.email', '=', email)
      .orderBy('orders.id', 'desc')
      .executeTakeFirstOrThrow();
    expect(order.status).toBe('paid');
    return { shopper, order };
  };

  /** Posts a multipart form as the operator's browser does: the session cookie, the page's CSRF token as a field. */
  const upload = async (
    pathname: string,
    field: string,
    file: { name: string; data: Buffer; type: string },
    csrf: string | null,
    who: Shopper = admin,
  ) => {
    const form = new FormData();
    if (csrf) form.append('_csrf', csrf);
    form.append(field, new Blob([new Uint8Array(file.data)], { type: file.type }), file.name);
    const sid = who.cookie(SESSION_COOKIE.name);
    const response = await fetch(store.baseUrl + pathname, {
      method: 'POST',
      body: form,
      redirect: 'manual',
      headers: { origin: store.baseUrl, ...(sid ? { cookie: `${SESSION_COOKIE.name}=${sid}` } : {}) },
    });
    return { status: response.status, location: response.headers.get('location'), text: await response.text() };
  };
  const csrfOf = (page: Page, formSelector: string) =>
    page.html.querySelector(`${formSelector} input[name="_csrf"]`)!.getAttribute('value')!;
  const audit = (action: string) => db().selectFrom('admin_audit').selectAll().where('action', '=', action).orderBy('id').execute();
  const textOf = (page: Page, selector: string) => page.html.querySelector(selector)?.text.replace(/\s+/g, ' ').trim() ?? '';

  beforeAll(async () => {
    if (skip) return;
    // Page caches on: an edit must still show at once, because the admin empties them.
    store = await startTestStore(kind, { messaging: true, env: { SIGN_IN_LIMIT_PER_CLIENT: '1000', CATALOGUE_CACHE_SECONDS: '60' } });
    admin = await signInAsOperator(store);
  });
  afterAll(async () => store?.close());

  it.skipIf(skip)('every section page renders for an operator, also with nothing in it yet', async () => {
    for (const page of [
      '/admin',
      '/admin/customers',
      '/admin/catalogue',
      '/admin/affiliates',
      '/admin/messages',
      '/admin/messages?status=failed',
    ]) {
      const answer = await admin.get(page);
      expect(answer.status, page).toBe(200);
      expect(answer.html.querySelector('nav.admin-nav'), page).not.toBeNull();
    }
    // Nobody else sees them: the admin area answers 404 without an operator's session.
    for (const page of ['/admin', '/admin/customers/1', '/admin/catalogue/releases/1', '/admin/affiliates/1', '/admin/messages'])
      expect((await new Shopper(store.baseUrl).get(page)).status, page).toBe(404);
    expect((await admin.get('/admin/messages?status=lost')).status).toBe(400);
    expect((await admin.get('/admin/customers/abc')).status).toBe(404);
  });

  it.skipIf(skip)(
    'dashboard: sales today / 7 / 30 days, chart, top sellers and payment methods match orders made through checkout',
    async () => {
      const [release, other] = await db().selectFrom('releases').select(['id', 'title']).orderBy('id').limit(2).execute();
      const track = await db()
        .selectFrom('tracks')
        .select(['id', 'title'])
        .where('release_id', '=', other!.id)
        .orderBy('id')
        .executeTakeFirstOrThrow();
      const first = await buy('dash1@example.com', { kind: 'release', id: release!.id });
      const second = await buy('dash2@example.com', { kind: 'track', id: track.id });
      const expectedPence = first.order.total_pence + second.order.total_pence;
      // Checked against the database too: nothing else was sold in this store.
      const paid = await db().selectFrom('orders').select(['total_pence']).where('status', '=', 'paid').execute();
      expect(paid.reduce((n, o) => n + o.total_pence, 0)).toBe(expectedPence);

      const page = await admin.get('/admin');
      expect(page.status).toBe(200);
      for (const window of ['today', '7d', '30d']) {
        const figure = page.html.querySelector(`[data-window="${window}"]`)!;
        expect(Number(figure.querySelector('[data-pence]')!.getAttribute('data-pence')), window).toBe(expectedPence);
        expect(Number(figure.querySelector('[data-orders]')!.getAttribute('data-orders')), window).toBe(2);
      }
      const svg = page.html.querySelector('svg.admin-chart')!;
      expect(svg.getAttribute('role')).toBe('img');
      expect(svg.getAttribute('aria-label')).toMatch(/Sales per day/);
      const bars = svg.querySelectorAll('rect.chart__bar');
      expect(bars).toHaveLength(30);
      const today = new Date().toISOString().slice(0, 10);
      const todayBar = bars.find((b) => b.getAttribute('data-day') === today)!;
      expect(Number(todayBar.getAttribute('data-pence'))).toBe(expectedPence);
      expect(todayBar.querySelector('title')!.text).toContain('2 orders');
      expect(bars.filter((b) => b.getAttribute('data-day') !== today).every((b) => b.getAttribute('data-pence') === '0')).toBe(true);
      expect(textOf(page, `#sales-by-day tr[data-day="${today}"]`)).toContain('2');
      expect(textOf(page, '#top-releases')).toContain(release!.title);
      expect(textOf(page, '#top-tracks')).toContain(track.title);
      expect(textOf(page, '#payment-methods tr[data-method="paypal"] .orders')).toBe('2');
      // Two confirmations and the operator's code went through the outbox; nothing failed.
      expect(Number(textOf(page, '#outbox-health [data-status="failed"]'))).toBe(0);
      expect(page.html.querySelector('#usage-totals')).not.toBeNull();
    },
  );

  it.skipIf(skip)('customers: search by email, part of one, mobile-less number and reference; export as JSON; erase', async () => {
    const release = await db().selectFrom('releases').select('id').orderBy('id').executeTakeFirstOrThrow();
    const { order } = await buy('find.me@example.com', { kind: 'release', id: release.id });
    await admin.get('/admin/customers');
    for (const q of ['Find.Me@example.com', 'find.me', order.reference.toLowerCase(), `#${order.customer_id}`]) {
      const page = await admin.post('/admin/customers', { q });
      expect(page.status, q).toBe(200);
      const rows = page.html.querySelectorAll('#customer-results tbody tr');
      expect(
        rows.map((r) => r.getAttribute('data-customer')),
        q,
      ).toEqual([String(order.customer_id)]);
    }
    expect((await admin.post('/admin/customers', { q: 'nobody@example.com' })).html.querySelector('#no-customers')).not.toBeNull();
    expect((await admin.post('/admin/customers', { q: 'x' })).status).toBe(400);
    // A partial search with LIKE's own characters matches them literally.
    expect((await admin.post('/admin/customers', { q: '%_%' })).html.querySelector('#customer-results')).toBeNull();

    const detail = await admin.get(`/admin/customers/${order.customer_id}`);
    expect(textOf(detail, '#customer-contact')).toBe('find.me@example.com');
    expect(textOf(detail, '#customer-orders')).toContain(order.reference);

    const exported = await fetch(`${store.baseUrl}/admin/customers/${order.customer_id}/export`, {
      headers: { cookie: `${SESSION_COOKIE.name}=${admin.cookie(SESSION_COOKIE.name)}` },
    });
    expect(exported.status).toBe(200);
    expect(exported.headers.get('content-disposition')).toMatch(/^attachment; filename="?customer-\d+\.json"?$/);
    const data = await exported.json();
    expect(data.account.email).toBe('find.me@example.com');
    expect(data.orders.map((o: { reference: string }) => o.reference)).toEqual([order.reference]);
    expect(await audit('customer.export')).toHaveLength(1);

    await admin.get(`/admin/customers/${order.customer_id}`);
    expect((await admin.post(`/admin/customers/${order.customer_id}/erase`, {})).status).toBe(400);
    const erased = await admin.post(`/admin/customers/${order.customer_id}/erase`, { confirm: 'erase' });
    expect(erased.location).toBe('/admin/customers');
    expect(await db().selectFrom('customers').select('id').where('id', '=', order.customer_id!).executeTakeFirst()).toBeUndefined();
    expect(await db().selectFrom('orders').select(['customer_id', 'status']).where('id', '=', order.id).executeTakeFirstOrThrow()).toEqual({
      customer_id: null,
      status: 'paid',
    });
    const [entry] = await audit('customer.erase');
    expect(entry).toMatchObject({ target: `customer:${order.customer_id}` });
    expect(JSON.stringify(entry)).not.toContain('find.me');
    expect((await admin.get(`/admin/customers/${order.customer_id}`)).status).toBe(404);
  });

  it.skipIf(skip)('catalogue: a price and title edit shows on the release page and in search at once (page caches emptied)', async () => {
    const release = await db().selectFrom('releases').select(['id', 'slug', 'title']).orderBy('id', 'desc').executeTakeFirstOrThrow();
    const track = await db()
      .selectFrom('tracks')
      .select(['id', 'title'])
      .where('release_id', '=', release.id)
      .orderBy('track_number')
      .executeTakeFirstOrThrow();
    const visitor = new Shopper(store.baseUrl);
    const before = await visitor.get(`/release/${release.slug}`); // now in both page caches
    expect(before.text).not.toContain('£5.55');

    const form = await admin.get(`/admin/catalogue/releases/${release.id}`);
    expect(form.status).toBe(200);
    const fields: Record<string, string> = {};
    for (const input of form.html.querySelectorAll('#edit-release input'))
      if (input.getAttribute('name') !== '_csrf') fields[input.getAttribute('name')!] = input.getAttribute('value') ?? '';
    const saved = await admin.post(`/admin/catalogue/releases/${release.id}`, {
      ...fields,
      price: '5.55',
      [`track_${track.id}_title`]: 'Zanzibarian Nights',
      [`track_${track.id}_price`]: '1.2',
    });
    expect(saved.location).toBe(`/admin/catalogue/releases/${release.id}`);
    expect(await db().selectFrom('tracks').select(['title', 'price_pence']).where('id', '=', track.id).executeTakeFirstOrThrow()).toEqual({
      title: 'Zanzibarian Nights',
      price_pence: 120,
    });

    const after = await new Shopper(store.baseUrl).get(`/release/${release.slug}`);
    expect(after.text).toContain('£5.55');
    expect(after.text).toContain('Zanzibarian Nights');
    expect(after.text).toContain('£1.20');
    const search = await new Shopper(store.baseUrl).get('/search?q=zanzibar');
    expect(search.text).toContain('Zanzibarian Nights');
    const [entry] = await audit('catalogue.edit');
    expect(entry).toMatchObject({ target: `release:${release.id}` });
    expect(entry!.detail).toMatch(/price default -> £5\.55/);

    expect((await admin.post(`/admin/catalogue/releases/${release.id}`, { ...fields, price: 'six pounds' })).status).toBe(400);
    expect((await admin.post(`/admin/catalogue/releases/${release.id}`, { ...fields, title: '   ' })).status).toBe(400);
    expect((await admin.get('/admin/catalogue/releases/999999')).status).toBe(404);
  });

  it.skipIf(skip)('catalogue: a hidden release leaves the pages, search and sitemap, and its buyer still downloads it', async () => {
    const release = await db()
      .selectFrom('releases')
      .select(['id', 'slug', 'title'])
      .orderBy('id')
      .offset(2)
      .limit(1)
      .executeTakeFirstOrThrow();
    const track = await db().selectFrom('tracks').select('id').where('release_id', '=', release.id).executeTakeFirstOrThrow();
    const { shopper, order } = await buy('keeper@example.com', { kind: 'release', id: release.id });
    const { code } = await signInCustomer(store, 'keeper@example.com', shopper);
    // The customer's page lists the code's message, but not the code.
    const customerPage = await admin.get(`/admin/customers/${order.customer_id}`);
    expect(customerPage.text).toContain('sign-in code');
    expect(customerPage.text).not.toContain(code);
    const word = release.title.split(/\s+/)[0]!;
    const visitor = new Shopper(store.baseUrl);
    expect((await visitor.get(`/release/${release.slug}`)).status).toBe(200);
    expect((await visitor.get(`/search?q=${encodeURIComponent(release.title)}`)).text).toContain(`/release/${release.slug}`);

    await admin.get(`/admin/catalogue/releases/${release.id}`);
    expect((await admin.post(`/admin/catalogue/releases/${release.id}/visibility`, { hidden: 'yes' })).status).toBe(303);
    expect((await visitor.get(`/release/${release.slug}`)).status).toBe(404);
    expect((await visitor.get(`/search?q=${encodeURIComponent(word)}`)).text).not.toContain(`/release/${release.slug}`);
    expect((await visitor.get('/sitemap.xml')).text).not.toContain(`/release/${release.slug}`);
    expect((await shopper.get(`/download/track/${track.id}`)).status).toBe(200);
    expect((await admin.get('/admin/catalogue')).html.querySelector(`tr[data-release="${release.id}"]`)!.text).toContain('hidden');

    await admin.get(`/admin/catalogue/releases/${release.id}`);
    await admin.post(`/admin/catalogue/releases/${release.id}/visibility`, { hidden: 'no' });
    expect((await visitor.get(`/release/${release.slug}`)).status).toBe(200);
    expect((await visitor.get(`/search?q=${encodeURIComponent(release.title)}`)).text).toContain(`/release/${release.slug}`);
    expect((await audit('catalogue.hide')).map((a) => a.target)).toEqual([`release:${release.id}`]);
    expect(await audit('catalogue.show')).toHaveLength(1);
  });

  it.skipIf(skip)('catalogue: hiding an artist’s only release hides the artist too; its buyer still sees the cover', async () => {
    // An artist with one release of their own and no track on anyone else's.
    const artists = await db().selectFrom('artists').select(['id', 'name', 'slug']).orderBy('id').execute();
    const releases = await db().selectFrom('releases').select(['id', 'artist_id', 'slug', 'cover_file']).execute();
    const tracks = await db().selectFrom('tracks').select(['artist_id', 'release_id']).execute();
    const artist = artists.find(
      (a) =>
        releases.filter((r) => r.artist_id === a.id).length === 1 &&
        tracks.every((t) => t.artist_id !== a.id || releases.find((r) => r.id === t.release_id)!.artist_id === a.id),
    )!;
    const release = releases.find((r) => r.artist_id === artist.id)!;
    expect(release.cover_file).toBeTruthy();
    const word = artist.name.split(/\s+/).find((w) => /^[A-Za-z]{4,}$/.test(w))!;
    const visitor = new Shopper(store.baseUrl);
    const artistLink = `href="/artist/${artist.slug}"`;
    expect((await visitor.get(`/search?q=${encodeURIComponent(word)}&type=artist`)).text).toContain(artistLink);
    const { shopper } = await buy('hidden-cover@example.com', { kind: 'release', id: release.id });
    await signInCustomer(store, 'hidden-cover@example.com', shopper);

    await admin.get(`/admin/catalogue/releases/${release.id}`);
    expect((await admin.post(`/admin/catalogue/releases/${release.id}/visibility`, { hidden: 'yes' })).status).toBe(303);
    const search = await visitor.get(`/search?q=${encodeURIComponent(word)}&type=artist`);
    expect(search.text).not.toContain(artistLink);
    expect((await visitor.get(`/search?q=${encodeURIComponent(word)}`)).text).not.toContain(artistLink);
    expect((await visitor.get(`/artist/${artist.slug}`)).status).toBe(404);
    expect((await visitor.get('/sitemap.xml')).text).not.toContain(`/artist/${artist.slug}<`);
    // Other artists are untouched.
    const other = artists.find((a) => a.id !== artist.id && releases.some((r) => r.artist_id === a.id))!;
    expect((await visitor.get(`/artist/${other.slug}`)).status).toBe(200);

    // The buyer's "Your music" still shows the cover, and the image answers; so does the admin's release page.
    const music = await shopper.get('/account/music');
    const cover = music.html
      .querySelectorAll('img.cover')
      .map((img) => img.getAttribute('src')!)
      .find((src) => src.startsWith(`/cover/${release.id}/`) || src.startsWith(`/cover/${release.id}?`)); // at the size shown, or as delivered
    expect(cover).toBeDefined();
    const image = await fetch(store.baseUrl + cover!);
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toMatch(/^image\//);
    expect((await admin.get(`/admin/catalogue/releases/${release.id}`)).html.querySelector('img.admin-cover')?.getAttribute('src')).toMatch(
      new RegExp(`^/cover/${release.id}\\?`),
    );

    await admin.post(`/admin/catalogue/releases/${release.id}/visibility`, { hidden: 'no' });
    expect((await visitor.get(`/artist/${artist.slug}`)).status).toBe(200);
    expect((await visitor.get(`/search?q=${encodeURIComponent(word)}&type=artist`)).text).toContain(artistLink);
  });

  it.skipIf(skip)(
    'catalogue: a zip upload goes through the importer; a zip-slip entry refuses the whole archive; the token is required',
    async () => {
      const album = { albumArtist: 'Zip Band', artist: 'Zip Band', album: 'Compressed Feelings', year: '2025', genre: 'Pop' };
      const good = zipOf([
        { name: 'Zip Band/Compressed Feelings/01.mp3', data: makeMp3(3, { ...album, title: 'Deflate', trackNumber: '1' }, 300) },
        { name: 'Zip Band/Compressed Feelings/02.mp3', data: makeMp3(3, { ...album, title: 'Inflate', trackNumber: '2' }, 350) },
        { name: 'Zip Band/Compressed Feelings/notes.txt', data: Buffer.from('liner notes') },
      ]);
      const page = await admin.get('/admin/catalogue');
      const token = csrfOf(page, 'form[action="/admin/catalogue/import"]');

      const withoutToken = await upload('/admin/catalogue/import', 'zip', { name: 'music.zip', data: good, type: 'application/zip' }, null);
      expect(withoutToken.status).toBe(403);
      const anonymous = await upload(
        '/admin/catalogue/import',
        'zip',
        { name: 'music.zip', data: good, type: 'application/zip' },
        token,
        new Shopper(store.baseUrl),
      );
      expect(anonymous.status).toBe(404);
      expect(await db().selectFrom('releases').select('id').where('title', '=', 'Compressed Feelings').executeTakeFirst()).toBeUndefined();

      const imported = await upload('/admin/catalogue/import', 'zip', { name: 'music.zip', data: good, type: 'application/zip' }, token);
      expect(imported.status).toBe(200);
      expect(imported.text).toMatch(/data-added="2"/);
      expect(imported.text).toMatch(/data-skipped="1"/);
      expect(imported.text).toContain('notes.txt');
      const release = await db()
        .selectFrom('releases')
        .select(['id', 'slug'])
        .where('title', '=', 'Compressed Feelings')
        .executeTakeFirstOrThrow();
      expect((await new Shopper(store.baseUrl).get(`/release/${release.slug}`)).text).toContain('Deflate');

      const tracksBefore = (await db().selectFrom('tracks').select('id').execute()).length;
      const escapeName = `escape-${Date.now()}.mp3`;
      const evil = zipOf([
        { name: 'Evil/01.mp3', data: makeMp3(3, { ...album, album: 'Slipped', title: 'Innocent', trackNumber: '1' }, 410) },
        { name: `../../${escapeName}`, data: makeMp3(3, { ...album, album: 'Slipped', title: 'Escaped', trackNumber: '2' }, 420) },
      ]);
      const refused = await upload('/admin/catalogue/import', 'zip', { name: 'evil.zip', data: evil, type: 'application/zip' }, token);
      expect(refused.status).toBe(400);
      expect(refused.text).toMatch(/not imported/);
      expect((await db().selectFrom('tracks').select('id').execute()).length).toBe(tracksBefore);
      for (const dir of [os.tmpdir(), path.dirname(os.tmpdir())]) expect(fs.existsSync(path.join(dir, escapeName))).toBe(false);

      const notZip = await upload(
        '/admin/catalogue/import',
        'zip',
        { name: 'music.zip', data: Buffer.from('not a zip at all'), type: 'application/zip' },
        token,
      );
      expect(notZip.status).toBe(400);
      expect((await audit('catalogue.import')).map((a) => a.detail)).toEqual([expect.stringMatching(/^music\.zip: 3 files; added 2/)]);
    },
  );

  it.skipIf(skip)('catalogue: the cover is replaced by a PNG checked by its bytes; anything else is refused', async () => {
    const release = await db().selectFrom('releases').select(['id', 'cover_file']).orderBy('id').executeTakeFirstOrThrow();
    const page = await admin.get(`/admin/catalogue/releases/${release.id}`);
    const token = csrfOf(page, `form[action="/admin/catalogue/releases/${release.id}/cover"]`);
    const wrong = await upload(
      `/admin/catalogue/releases/${release.id}/cover`,
      'cover',
      { name: 'cover.png', data: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), type: 'image/png' },
      token,
    );
    expect(wrong.status).toBe(415);
    const replaced = await upload(
      `/admin/catalogue/releases/${release.id}/cover`,
      'cover',
      { name: 'new.png', data: PNG_BYTES, type: 'image/png' },
      token,
    );
    expect(replaced.status).toBe(303);
    const after = await db().selectFrom('releases').select(['cover_file', 'slug']).where('id', '=', release.id).executeTakeFirstOrThrow();
    expect(after.cover_file).not.toBe(release.cover_file);
    expect(after.cover_file).toMatch(/\.png$/);
    const cover = await fetch(`${store.baseUrl}/cover/${release.id}`);
    expect(Buffer.from(await cover.arrayBuffer()).equals(PNG_BYTES)).toBe(true);
    expect(await audit('catalogue.cover')).toHaveLength(1);
  });

  it.skipIf(skip)('affiliates: add, set the rate, commissions by status, record a payout, deactivate', async () => {
    await admin.get('/admin/affiliates');
    const added = await admin.post('/admin/affiliates', {
      name: 'Radio Nowhere',
      email: 'Radio@Example.com',
      kind: 'percent',
      value: '20',
    });
    expect(added.status).toBe(303);
    const affiliate = await db().selectFrom('affiliates').selectAll().where('email', '=', 'radio@example.com').executeTakeFirstOrThrow();
    expect(added.location).toBe(`/admin/affiliates/${affiliate.id}`);
    expect(affiliate).toMatchObject({ name: 'Radio Nowhere', rate_basis_points: 2000, flat_pence: null, active: 1 });
    expect(
      (await admin.post('/admin/affiliates', { name: 'Again', email: 'radio@example.com', kind: 'percent', value: '20' })).status,
    ).toBe(409);
    expect((await admin.post('/admin/affiliates', { name: 'Bad', email: 'bad@example.com', kind: 'percent', value: '120' })).status).toBe(
      400,
    );

    await admin.get(`/admin/affiliates/${affiliate.id}`);
    expect((await admin.post(`/admin/affiliates/${affiliate.id}/rate`, { kind: 'percent', value: '12.5' })).status).toBe(303);
    expect(
      (await db().selectFrom('affiliates').select('rate_basis_points').where('id', '=', affiliate.id).executeTakeFirstOrThrow())
        .rate_basis_points,
    ).toBe(1250);

    const track = await db().selectFrom('tracks').select('id').orderBy('id', 'desc').executeTakeFirstOrThrow();
    const { order } = await buy('referred@example.com', { kind: 'track', id: track.id }, { affiliate: affiliate.id });
    expect(order.affiliate_id).toBe(affiliate.id);
    const expected = commissionPence(order.total_pence, { rate_basis_points: 1250, flat_pence: null });
    let page = await admin.get(`/admin/affiliates/${affiliate.id}`);
    expect(textOf(page, '#commission-status tr[data-status="pending"] .count')).toBe('1');
    // Nothing approved yet: a payout records nothing.
    await admin.post(`/admin/affiliates/${affiliate.id}/payout`, { confirm: 'yes' });
    expect(await db().selectFrom('affiliate_payouts').select('id').execute()).toHaveLength(0);

    await store.app.affiliates.approveDueCommissions(new Date(Date.now() + 400 * 24 * 3600_000));
    page = await admin.get(`/admin/affiliates/${affiliate.id}`);
    expect(textOf(page, '#commission-status tr[data-status="approved"] .count')).toBe('1');
    // Without the tick box nothing is recorded, and the operator is told why.
    expect(
      (await admin.get(`/admin/affiliates/${affiliate.id}`)).html.querySelector('#payout-confirm')?.getAttribute('required'),
    ).toBeDefined();
    await admin.post(`/admin/affiliates/${affiliate.id}/payout`, {});
    expect((await admin.get(`/admin/affiliates/${affiliate.id}`)).html.querySelector('.admin-flash--error')!.text).toContain(
      'tick the box to confirm that you have paid',
    );
    expect(await db().selectFrom('affiliate_payouts').select('id').where('affiliate_id', '=', affiliate.id).execute()).toHaveLength(0);
    expect((await admin.post(`/admin/affiliates/${affiliate.id}/payout`, { confirm: 'yes' })).status).toBe(303);
    const payout = await db()
      .selectFrom('affiliate_payouts')
      .selectAll()
      .where('affiliate_id', '=', affiliate.id)
      .executeTakeFirstOrThrow();
    expect(payout).toMatchObject({ commission_count: 1 });
    expect(payout.amount_pence).toBe(expected);
    expect(
      await db()
        .selectFrom('affiliate_commissions')
        .select(['status', 'payout_id'])
        .where('order_id', '=', order.id)
        .executeTakeFirstOrThrow(),
    ).toEqual({ status: 'paid', payout_id: payout.id });
    page = await admin.get('/admin/affiliates');
    expect(page.html.querySelector(`tr[data-affiliate="${affiliate.id}"] td.paid`)!.getAttribute('data-count')).toBe('1');

    await admin.get(`/admin/affiliates/${affiliate.id}`);
    expect((await admin.post(`/admin/affiliates/${affiliate.id}/active`, { active: 'no' })).status).toBe(303);
    expect((await db().selectFrom('affiliates').select('active').where('id', '=', affiliate.id).executeTakeFirstOrThrow()).active).toBe(0);
    // A deactivated affiliate's link credits nothing.
    const { order: later } = await buy('later@example.com', { kind: 'track', id: track.id }, { affiliate: affiliate.id });
    expect(later.affiliate_id).toBeNull();
    for (const action of ['affiliate.add', 'affiliate.rate', 'affiliate.payout', 'affiliate.deactivate'])
      expect(
        (await audit(action)).map((a) => a.target),
        action,
      ).toEqual([`affiliate:${affiliate.id}`]);
  });

  it.skipIf(skip)('messages: a failed message is shown with its error, retried, and then sent', async () => {
    const now = toDbTime(new Date());
    const id = await queueMessage(
      db(),
      { channel: 'email', recipient: 'retry.me@example.com', kind: 'transactional', subject: 'Second chance', text: 'Hello again' },
      now,
    );
    // As the worker leaves a message after its last attempt.
    await db()
      .updateTable('outbox')
      .set({ status: 'failed', attempts: 12, last_error: 'SMTP 451 try later', next_attempt_at: '2999-01-01 00:00:00' })
      .where('id', '=', id)
      .execute();
    const page = await admin.get('/admin/messages?status=failed');
    const row = page.html.querySelector(`tr[data-message="${id}"]`)!;
    expect(row.querySelector('.error')!.text).toContain('SMTP 451 try later');
    expect(row.text).not.toContain('retry.me@example.com'); // the recipient is shown masked
    // The operator's own sign-in code (in its email's subject) is not readable on the page.
    // (The outbox no longer holds it once sent: it is read from the mail the operator received.)
    const code = store
      .smtp!.received.map((m) => m.parsed.subject ?? '')
      .find((subject) => subject.includes('admin sign-in code'))!
      .match(/\d{6}/)![0];
    expect((await admin.get('/admin/messages')).text).not.toContain(code);
    expect((await admin.post(`/admin/messages/${id}/retry`, {})).status).toBe(303);
    expect((await admin.post(`/admin/messages/${id}/retry`, {})).status).toBe(409); // no longer failed
    const deadline = Date.now() + 10_000;
    while ((await db().selectFrom('outbox').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status !== 'sent') {
      if (Date.now() > deadline) throw new Error('the retried message was not sent');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(store.smtp!.received.some((m) => m.envelopeTo.includes('retry.me@example.com') && m.parsed.subject === 'Second chance')).toBe(
      true,
    );
    expect((await audit('message.retry')).map((a) => a.target)).toEqual([`outbox:${id}`]);
  });

  it.skipIf(skip)(
    'messages: a service notice reaches every customer with an order in the window; marketing only the opted-in',
    async () => {
      const track = await db().selectFrom('tracks').select('id').orderBy('id').executeTakeFirstOrThrow();
      await buy('news.yes@example.com', { kind: 'track', id: track.id }, { marketing: true });
      await buy('news.no@example.com', { kind: 'track', id: track.id });
      const today = new Date().toISOString().slice(0, 10);
      await admin.get('/admin/messages');
      const notice = await admin.post('/admin/messages/notice', {
        from: today,
        to: today,
        subject: 'Downloads were down',
        message: 'Downloads failed for an hour. Please try again.',
        reason: 'download outage',
      });
      expect(notice.status).toBe(303);
      const serviceTo = (await db().selectFrom('outbox').select('recipient').where('kind', '=', 'service').execute()).map(
        (r) => r.recipient,
      );
      expect(serviceTo).toEqual(expect.arrayContaining(['news.yes@example.com', 'news.no@example.com']));
      const logged = await db().selectFrom('service_notices').selectAll().executeTakeFirstOrThrow();
      expect(logged).toMatchObject({ reason: 'download outage', recipients: serviceTo.length });
      expect(logged.sent_by).toMatch(/@admin\.example$/);

      await admin.get('/admin/messages');
      expect((await admin.post('/admin/messages/marketing', { subject: 'New music', message: 'Fresh releases this week.' })).status).toBe(
        400,
      ); // not confirmed
      expect(
        (await admin.post('/admin/messages/marketing', { subject: 'New music', message: 'Fresh releases this week.', confirm: 'yes' }))
          .status,
      ).toBe(303);
      const marketing = await db().selectFrom('outbox').select(['recipient', 'headers']).where('kind', '=', 'marketing').execute();
      expect(marketing.map((m) => m.recipient)).toContain('news.yes@example.com');
      expect(marketing.map((m) => m.recipient)).not.toContain('news.no@example.com');
      expect(marketing.find((m) => m.recipient === 'news.yes@example.com')!.headers).toContain('List-Unsubscribe');
      expect(
        (await admin.post('/admin/messages/notice', { from: today, to: '2000-01-01', subject: 'x', message: 'y', reason: 'z' })).status,
      ).toBe(400);
      expect(await audit('message.notice')).toHaveLength(1);
      expect(await audit('message.marketing')).toHaveLength(1);
    },
  );
});
