import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addAffiliate, commissionPence, setActive } from '../../src/affiliates/repository.js';
import { databaseKinds } from '../helpers/databases.js';
import { Shopper } from '../helpers/shopper.js';
import { startTestStore, type TestStore } from '../helpers/store.js';
import { STORE_BIN, storeCliEnv } from '../helpers/cli.js';

const run = promisify(execFile);
const DAY_MS = 24 * 3600_000;

describe('commission rounding', () => {
  it('rounds percentage commissions half down to whole pence; flat commissions never exceed the order', () => {
    const pct = (percent: number) => ({ rate_basis_points: percent * 100, flat_pence: null });
    expect(commissionPence(79, pct(20))).toBe(16); // 15.8 -> 16
    expect(commissionPence(79, pct(50))).toBe(39); // 39.5 -> 39 (half down)
    expect(commissionPence(699, pct(20))).toBe(140); // 139.8 -> 140
    expect(commissionPence(699, pct(12.5))).toBe(87); // 87.375 -> 87
    expect(commissionPence(101, pct(50))).toBe(50); // 50.5 -> 50
    expect(commissionPence(103, { rate_basis_points: 5050, flat_pence: null })).toBe(52); // 52.015 -> 52
    expect(commissionPence(1, { rate_basis_points: 5001, flat_pence: null })).toBe(1); // 0.5001 -> 1
    expect(commissionPence(778, pct(20))).toBe(156); // 155.6 -> 156
    expect(commissionPence(778, { rate_basis_points: null, flat_pence: 50 })).toBe(50);
    expect(commissionPence(30, { rate_basis_points: null, flat_pence: 50 })).toBe(30);
  });
});

describe.each(databaseKinds())('affiliates on $kind', ({ kind, skip }) => {
  let store: TestStore;
  let release: { id: number; slug: string };
  let looseTrack: { id: number };
  const ids = { twenty: 0, half: 0, flat: 0, inactive: 0 };

  beforeAll(async () => {
    if (skip) return;
    // A release costs the lesser of RELEASE_PRICE_PENCE and its tracks' prices: 101p for any release of two or more tracks.
    store = await startTestStore(kind, { env: { TRACK_PRICE_PENCE: '79', RELEASE_PRICE_PENCE: '101' } });
    const db = store.database.db;
    const counted = await db
      .selectFrom('tracks')
      .select(['release_id', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('release_id')
      .orderBy('release_id')
      .execute();
    const multi = counted.find((r) => Number(r.n) >= 2)!;
    release = await db.selectFrom('releases').select(['id', 'slug']).where('id', '=', multi.release_id).executeTakeFirstOrThrow();
    const other = counted.find((r) => r.release_id !== multi.release_id)!;
    looseTrack = await db
      .selectFrom('tracks')
      .select('id')
      .where('release_id', '=', other.release_id)
      .orderBy('id')
      .executeTakeFirstOrThrow();
    const now = new Date();
    ids.twenty = await addAffiliate(
      db,
      { name: 'Twenty', email: 'twenty@affiliates.example', rateBasisPoints: 2000, flatPence: null },
      now,
    );
    ids.half = await addAffiliate(db, { name: 'Half', email: 'half@affiliates.example', rateBasisPoints: 5000, flatPence: null }, now);
    ids.flat = await addAffiliate(db, { name: 'Flat', email: 'flat@affiliates.example', rateBasisPoints: null, flatPence: 50 }, now);
    ids.inactive = await addAffiliate(db, { name: 'Gone', email: 'gone@affiliates.example', rateBasisPoints: 2000, flatPence: null }, now);
    await setActive(db, ids.inactive, false, now);
  });
  afterAll(async () => store?.close());

  const db = () => store.database.db;
  const landing = (pathAndQuery: string, cookie?: string) =>
    fetch(store.baseUrl + pathAndQuery, { redirect: 'manual', headers: cookie ? { cookie } : {} });
  const affiliateCookieOf = (response: Response) => response.headers.getSetCookie().find((c) => /^a=/.test(c));
  const visits = async (affiliateId: number) =>
    (await db().selectFrom('affiliate_visits').select(['path', 'visits']).where('affiliate_id', '=', affiliateId).execute()).reduce(
      (n, v) => n + Number(v.visits),
      0,
    );

  /** A shopper with the given `a` cookie buys the items and pays with PayPal as `email`; returns the order. */
  const buy = async (options: {
    cookie?: string;
    email: string;
    items: { kind: 'track' | 'release'; id: number }[];
    shopper?: Shopper;
  }) => {
    const shopper = options.shopper ?? new Shopper(store.baseUrl);
    await shopper.get(`/release/${release.slug}`);
    if (options.cookie !== undefined) shopper.setCookie('a', options.cookie);
    for (const item of options.items) await shopper.post('/basket/add', { kind: item.kind, id: String(item.id) });
    await shopper.get('/checkout');
    const page = await shopper.post('/checkout', { method: 'paypal', adult: 'yes' });
    expect(page.status).toBe(303);
    const token = new URL(page.location!).searchParams.get('token')!;
    const { redirectUrl } = store.paypal.control.approve(token, { email: options.email });
    await shopper.follow(await shopper.get(redirectUrl!));
    return db()
      .selectFrom('payments')
      .innerJoin('orders', 'orders.id', 'payments.order_id')
      .selectAll('orders')
      .select('payments.capture_ref')
      .where('payments.provider_ref', '=', token)
      .executeTakeFirstOrThrow();
  };
  const commissionOf = (orderId: number) =>
    db().selectFrom('affiliate_commissions').selectAll().where('order_id', '=', orderId).executeTakeFirst();

  it.skipIf(skip)('sets no cookie and never fails for any value of `a` but a known, active affiliate number', async () => {
    const bad = [
      '',
      '0',
      '-1',
      '-' + ids.twenty,
      'abc',
      '1e2',
      ' 1',
      `${ids.twenty} `,
      `0${ids.twenty}`,
      '999999',
      '999999999',
      '99999999999999999999999',
      String(ids.inactive),
      "1' OR '1'='1",
      '1;DROP TABLE affiliates',
      '1%00',
      '<script>',
      `${ids.twenty}.0`,
      '0x1',
      'NaN',
      'Infinity',
    ];
    const before = await visits(ids.twenty);
    for (const value of bad) {
      const response = await landing(`/search?q=rain&a=${encodeURIComponent(value)}`);
      expect(response.status, value).toBe(302);
      expect(response.headers.get('location'), value).toBe('/search?q=rain');
      expect(affiliateCookieOf(response), value).toBeUndefined();
    }
    for (const query of [`a=${ids.twenty}&a=${ids.half}`, `a[]=${ids.twenty}`, `a=${ids.twenty}&a=`, 'a', `a=%${ids.twenty}`]) {
      const response = await landing(`/?${query}`);
      expect(response.status, query).toBeLessThan(500);
      expect(affiliateCookieOf(response), query).toBeUndefined();
    }
    // A visitor who already has a cookie keeps it untouched by a bad value.
    const kept = await landing(`/?a=abc`, `a=${ids.half}`);
    expect(affiliateCookieOf(kept)).toBeUndefined();
    expect(await visits(ids.twenty)).toBe(before);
  });

  it.skipIf(skip)('sets the cookie for an active affiliate, counts the visit and redirects to the same page without `a`', async () => {
    const before = await visits(ids.twenty);
    const response = await landing(`/search?q=rain&a=${ids.twenty}&page=1`);
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/search?q=rain&page=1');
    const cookie = affiliateCookieOf(response)!;
    expect(cookie).toMatch(new RegExp(`^a=${ids.twenty}; Max-Age=${30 * 24 * 3600}; Path=/; Expires=[^;]+; HttpOnly; SameSite=Lax$`));
    expect(cookie).not.toContain('Secure');
    expect(await visits(ids.twenty)).toBe(before + 1);
    const row = await db()
      .selectFrom('affiliate_visits')
      .selectAll()
      .where('affiliate_id', '=', ids.twenty)
      .where('path', '=', '/search')
      .executeTakeFirstOrThrow();
    expect(row.day).toBe(new Date().toISOString().slice(0, 10));
    expect(Object.keys(row).sort()).toEqual(['affiliate_id', 'day', 'id', 'path', 'visits']);
    // Last referrer wins by default.
    const second = await landing(`/?a=${ids.half}`, `a=${ids.twenty}`);
    expect(affiliateCookieOf(second)).toMatch(new RegExp(`^a=${ids.half};`));
    // The redirect never leaves the site, whatever the path looks like.
    for (const trick of [`//evil.example/?a=${ids.twenty}`, `/\\evil.example/?a=${ids.twenty}`, `///evil.example?a=${ids.twenty}&x=1`]) {
      const tricked = await landing(trick);
      const location = tricked.headers.get('location')!;
      expect(location, trick).toMatch(/^\/[^/\\]/);
      expect(new URL(location, store.baseUrl).origin).toBe(store.baseUrl);
    }
    // Secure over TLS (as a trusted proxy reports it) is covered by req.secure: plain HTTP here has no Secure flag.
  });

  it.skipIf(skip)('credits a paid order once, with the commission in pence from the stored total and rate', async () => {
    // Through the landing link itself: the cookie the store set is what checkout reads.
    const shopper = new Shopper(store.baseUrl);
    await shopper.get(`/?a=${ids.half}`);
    expect(shopper.cookie('a')).toBe(String(ids.half));
    const halfOrder = await buy({ shopper, email: 'buyer1@example.com', items: [{ kind: 'track', id: looseTrack.id }] });
    expect(halfOrder.status).toBe('paid');
    expect(halfOrder.affiliate_id).toBe(ids.half);
    expect(halfOrder.total_pence).toBe(79);
    expect(await commissionOf(halfOrder.id)).toMatchObject({
      affiliate_id: ids.half,
      order_total_pence: 79,
      amount_pence: 39,
      status: 'pending',
      reason: null,
    });

    const twentyOrder = await buy({
      cookie: String(ids.twenty),
      email: 'buyer2@example.com',
      items: [{ kind: 'release', id: release.id }],
    });
    expect(twentyOrder.total_pence).toBe(101);
    expect(await commissionOf(twentyOrder.id)).toMatchObject({ amount_pence: 20, status: 'pending' }); // 20.2 -> 20

    const flatOrder = await buy({
      cookie: String(ids.flat),
      email: 'buyer3@example.com',
      items: [
        { kind: 'release', id: release.id },
        { kind: 'track', id: looseTrack.id },
      ],
    });
    expect(flatOrder.total_pence).toBe(180);
    expect(await commissionOf(flatOrder.id)).toMatchObject({ amount_pence: 50, status: 'pending' });

    // The confirmation arriving again (a webhook after the return) adds nothing.
    const payment = await db().selectFrom('payments').selectAll().where('order_id', '=', halfOrder.id).executeTakeFirstOrThrow();
    await store.app.orders.settleCapture({
      method: 'paypal',
      providerRef: payment.provider_ref,
      captureRef: payment.capture_ref!,
      amountPence: 79,
      currency: 'GBP',
      contact: { email: 'buyer1@example.com' },
      source: 'test',
    });
    const rows = await db().selectFrom('affiliate_commissions').select('id').where('order_id', '=', halfOrder.id).execute();
    expect(rows).toHaveLength(1);
  });

  it.skipIf(skip)('credits nobody for an unknown, inactive or malformed cookie at checkout', async () => {
    for (const cookie of ['abc', '0', '999999', String(ids.inactive), `${ids.twenty}x`, '-1']) {
      const order = await buy({ cookie, email: 'nobody@example.com', items: [{ kind: 'track', id: looseTrack.id }] });
      expect(order.affiliate_id, cookie).toBeNull();
      expect(await commissionOf(order.id), cookie).toBeUndefined();
    }
  });

  it.skipIf(skip)('rejects the commission when the order is refunded before payout', async () => {
    const order = await buy({ cookie: String(ids.twenty), email: 'refunder@example.com', items: [{ kind: 'track', id: looseTrack.id }] });
    expect(await commissionOf(order.id)).toMatchObject({ status: 'pending', amount_pence: 16 });
    expect(await store.app.orders.recordRefund('paypal', order.capture_ref!, order.total_pence, 'test')).toBe('refunded');
    expect(await commissionOf(order.id)).toMatchObject({ status: 'rejected', reason: 'refunded' });
  });

  it.skipIf(skip)('pays an affiliate nothing for buying through their own link', async () => {
    const order = await buy({
      cookie: String(ids.twenty),
      email: 'Twenty@Affiliates.example',
      items: [{ kind: 'release', id: release.id }],
    });
    expect(order.affiliate_id).toBe(ids.twenty);
    expect(await commissionOf(order.id)).toMatchObject({ status: 'rejected', reason: 'self-referral', amount_pence: 0 });
  });

  it.skipIf(skip)('approves pending commissions after the hold, and a payout marks them paid', async () => {
    expect(await store.app.affiliates.approveDueCommissions(new Date(Date.now() + 29 * DAY_MS))).toBe(0);
    const approved = await store.app.affiliates.approveDueCommissions(new Date(Date.now() + 30 * DAY_MS + 60_000));
    expect(approved).toBe(3);
    const half = await db().selectFrom('affiliate_commissions').selectAll().where('affiliate_id', '=', ids.half).execute();
    expect(half.map((c) => c.status)).toEqual(['approved']);
    // Rejected commissions (refunded, self-referral) are never approved.
    expect(
      (await db().selectFrom('affiliate_commissions').select('status').where('reason', 'is not', null).execute()).every(
        (c) => c.status === 'rejected',
      ),
    ).toBe(true);

    const env = storeCliEnv(store);
    const { stdout } = await run('node', [STORE_BIN, 'affiliate', 'payout', '--number', String(ids.half)], { env });
    expect(stdout).toContain('£0.39');
    const paid = await db().selectFrom('affiliate_commissions').selectAll().where('affiliate_id', '=', ids.half).executeTakeFirstOrThrow();
    expect(paid.status).toBe('paid');
    expect(paid.payout_id).not.toBeNull();
    const again = await run('node', [STORE_BIN, 'affiliate', 'payout', '--number', String(ids.half)], { env });
    expect(again.stdout).toContain('Nothing to pay');
  });

  it.skipIf(skip)('shows a signed-in affiliate their own figures only, and no customer contact', async () => {
    const anonymous = new Shopper(store.baseUrl);
    expect((await anonymous.get('/affiliate')).location).toBe('/affiliate/sign-in');

    const affiliate = new Shopper(store.baseUrl);
    await affiliate.get('/affiliate/sign-in');
    const before = affiliate.cookie('sid');
    expect((await affiliate.post('/affiliate/sign-in', { email: 'Half@Affiliates.example' })).location).toBe('/affiliate/code');
    const message = await db()
      .selectFrom('outbox')
      .selectAll()
      .where('recipient', '=', 'half@affiliates.example')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    const code = /\b(\d{6})\b/.exec(message.body_text)![1]!;
    await affiliate.get('/affiliate/code');
    expect((await affiliate.post('/affiliate/code', { code: '000000' === code ? '111111' : '000000' })).status).toBe(400);
    const signedIn = await affiliate.post('/affiliate/code', { code });
    expect(signedIn.location).toBe('/affiliate');
    expect(affiliate.cookie('sid')).not.toBe(before);

    const page = await affiliate.get('/affiliate');
    expect(page.status).toBe(200);
    expect(page.html.querySelector('[data-affiliate-number]')!.text).toBe(String(ids.half));
    expect(page.html.querySelector('.referral-link')!.getAttribute('value')).toBe(`${store.baseUrl}/?a=${ids.half}`);
    const month = new Date().toISOString().slice(0, 7);
    const row = page.html.querySelector(`tr[data-month="${month}"]`)!;
    expect(row.querySelector('.orders')!.text).toBe('1');
    expect(Number(row.querySelector('.visits')!.text)).toBeGreaterThanOrEqual(2);
    expect(row.querySelector('.paid')!.text).toBe('£0.39');
    expect(row.querySelector('.pending')!.text).toBe('£0.00');
    expect(page.text).toContain('<svg');
    expect(page.html.querySelectorAll('script:not([src])')).toHaveLength(0);
    for (const contact of [
      'buyer1@example.com',
      'buyer2@example.com',
      'buyer3@example.com',
      'refunder@example.com',
      'twenty@affiliates.example',
      '@example.com',
    ])
      expect(page.text).not.toContain(contact);

    // Another affiliate's number in the address changes nothing about whose figures these are.
    const other = await affiliate.follow(await affiliate.get(`/affiliate?a=${ids.twenty}`));
    expect(other.html.querySelector('[data-affiliate-number]')!.text).toBe(String(ids.half));
    expect((await affiliate.get(`/affiliate/${ids.twenty}`)).status).toBe(404);
    expect(
      (await affiliate.get(`/affiliate?affiliate=${ids.twenty}&id=${ids.twenty}`)).html.querySelector('[data-affiliate-number]')!.text,
    ).toBe(String(ids.half));

    // The link builder: any path on this site, nothing else.
    const built = await affiliate.get(`/affiliate?path=${encodeURIComponent(`/release/${release.slug}?x=1&a=7`)}`);
    expect(built.html.querySelector('.built-link')!.getAttribute('value')).toBe(
      `${store.baseUrl}/release/${release.slug}?x=1&a=${ids.half}`,
    );
    for (const bad of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)', 'release/x']) {
      const refused = await affiliate.get(`/affiliate?path=${encodeURIComponent(bad)}`);
      expect(refused.html.querySelector('.built-link'), bad).toBeNull();
      expect(refused.text, bad).toContain('Please enter a path on this site');
    }
  });

  it.skipIf(skip)('adds, lists and deactivates affiliates from the command line', async () => {
    const env = storeCliEnv(store, { PUBLIC_URL: 'https://shop.example' });
    const added = await run(
      'node',
      [STORE_BIN, 'affiliate', 'add', '--name', 'Blog Person', '--email', 'blog@affiliates.example', '--rate', '12.5'],
      { env },
    );
    const number = Number(/Added affiliate (\d+)/.exec(added.stdout)![1]);
    expect(added.stdout).toContain(`Referral link: https://shop.example/?a=${number}`);
    expect(await db().selectFrom('affiliates').selectAll().where('id', '=', number).executeTakeFirstOrThrow()).toMatchObject({
      rate_basis_points: 1250,
      flat_pence: null,
      active: 1,
    });
    const flat = await run(
      'node',
      [STORE_BIN, 'affiliate', 'add', '--name', 'Flat Two', '--email', 'flat2@affiliates.example', '--flat-pence', '25'],
      { env },
    );
    expect(flat.stdout).toContain('£0.25 per order');
    const duplicate = await run('node', [STORE_BIN, 'affiliate', 'add', '--name', 'Again', '--email', 'blog@affiliates.example'], {
      env,
    }).catch((e) => e);
    expect(duplicate.code).toBe(1);
    expect(affiliateCookieOf(await landing(`/?a=${number}`))).toBeDefined();

    const { stdout } = await run('node', [STORE_BIN, 'affiliate', 'deactivate', '--number', String(number)], { env });
    expect(stdout).toContain(`Affiliate ${number} is deactivated`);
    expect(affiliateCookieOf(await landing(`/?a=${number}`))).toBeUndefined();
    const list = await run('node', [STORE_BIN, 'affiliate', 'list'], { env });
    expect(list.stdout).toMatch(new RegExp(`^${number}\\tinactive\\t12.5%\\tBlog Person <blog@affiliates.example>$`, 'm'));
    const missing = await run('node', [STORE_BIN, 'affiliate', 'deactivate', '--number', 'abc'], { env }).catch((e) => e);
    expect(missing.code).not.toBe(0);
  });
});

describe.each(databaseKinds())('affiliate attribution and consent settings on $kind', ({ kind, skip }) => {
  let store: TestStore;
  let first = 0;
  let second = 0;

  beforeAll(async () => {
    if (skip) return;
    store = await startTestStore(kind, {
      stock: false,
      env: { AFFILIATE_ATTRIBUTION: 'first', AFFILIATE_COOKIE_CONSENT: 'required', AFFILIATE_COOKIE_DAYS: '7', TRUST_PROXY: 'loopback' },
    });
    first = await addAffiliate(
      store.database.db,
      { name: 'First', email: 'first@affiliates.example', rateBasisPoints: 2000, flatPence: null },
      new Date(),
    );
    second = await addAffiliate(
      store.database.db,
      { name: 'Second', email: 'second@affiliates.example', rateBasisPoints: 2000, flatPence: null },
      new Date(),
    );
  });
  afterAll(async () => store?.close());

  const landing = (pathAndQuery: string, cookie?: string) =>
    fetch(store.baseUrl + pathAndQuery, { redirect: 'manual', headers: cookie ? { cookie } : {} });
  const affiliateCookieOf = (response: Response) => response.headers.getSetCookie().find((c) => /^a=/.test(c));

  it.skipIf(skip)('sets no cookie without consent, but still counts the visit', async () => {
    const response = await landing(`/?a=${first}`);
    expect(response.status).toBe(302);
    expect(affiliateCookieOf(response)).toBeUndefined();
    const row = await store.database.db
      .selectFrom('affiliate_visits')
      .selectAll()
      .where('affiliate_id', '=', first)
      .executeTakeFirstOrThrow();
    expect(row.visits).toBe(1);
    expect(affiliateCookieOf(await landing(`/?a=${first}`, 'consent=no'))).toBeUndefined();
  });

  it.skipIf(skip)('with consent: the first referrer keeps the credit, for the configured days', async () => {
    const set = affiliateCookieOf(await landing(`/?a=${first}`, 'consent=yes'))!;
    expect(set).toMatch(new RegExp(`^a=${first}; Max-Age=${7 * 24 * 3600};`));
    expect(affiliateCookieOf(await landing(`/?a=${second}`, `consent=yes; a=${first}`))).toBeUndefined();
    // A cookie that names nobody active does not hold the place.
    expect(affiliateCookieOf(await landing(`/?a=${second}`, 'consent=yes; a=999999'))).toMatch(new RegExp(`^a=${second};`));
    // The same affiliate again refreshes the cookie.
    expect(affiliateCookieOf(await landing(`/?a=${first}`, `consent=yes; a=${first}`))).toMatch(new RegExp(`^a=${first};`));
  });

  it.skipIf(skip)('marks the cookie Secure when the request came over TLS', async () => {
    const overTls = await fetch(`${store.baseUrl}/?a=${first}`, {
      redirect: 'manual',
      headers: { cookie: 'consent=yes', 'x-forwarded-proto': 'https' },
    });
    expect(affiliateCookieOf(overTls)).toMatch(/; Secure; HttpOnly; SameSite=Lax$|; HttpOnly; Secure; SameSite=Lax$/);
    const plain = await landing(`/?a=${first}`, 'consent=yes');
    expect(affiliateCookieOf(plain)).not.toContain('Secure');
  });
});
