import fs from 'node:fs';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addAffiliate } from '../../src/affiliates/repository.js';
import { neutraliseFormula } from '../../src/admin/orders/csv.js';
import { signInAsOperator } from '../helpers/admin.js';
import { databaseKinds } from '../helpers/databases.js';
import { payAtStandIn } from '../helpers/payforit.js';
import { Shopper } from '../helpers/shopper.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

describe('CSV formula neutralising', () => {
  it('prefixes a quote to cells a spreadsheet would run, and leaves others alone', () => {
    for (const cell of ['=1+1', '+447700900123', '-2', '@SUM(A1)', '\tx', '\rx']) expect(neutraliseFormula(cell)).toBe(`'${cell}`);
    for (const cell of ['NL-AB12', 'a=b', 'Artist – Title', '', "'quoted"]) expect(neutraliseFormula(cell)).toBe(cell);
  });
});

/** RFC 4180 as csv-stringify writes it: quoted fields may hold commas, quotes ("") and line breaks. */
function parseCsv(text: string): Record<string, string>[] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  /* eslint-disable @typescript-eslint/no-unused-expressions -- a compact reader written with comma expressions */
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') ((field += '"'), i++);
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') (record.push(field), (field = ''));
    else if (c === '\r' && text[i + 1] === '\n') {
      (record.push(field), records.push(record), (field = ''), (record = []), i++);
    } else field += c;
  }
  if (field !== '' || record.length > 0) (record.push(field), records.push(record));
  /* eslint-enable @typescript-eslint/no-unused-expressions */
  const [header, ...rows] = records;
  return rows.map((row) => Object.fromEntries(header!.map((name, i) => [name, row[i] ?? ''])));
}

const DAY_ONE = new Date('2026-11-20T10:00:00Z');

describe.each(databaseKinds())('admin orders on $kind', ({ kind, skip }) => {
  let store: TestStore;
  let now = DAY_ONE;
  let operator: Shopper;
  let affiliateId: number;
  let flatAffiliateId: number;
  let release: { id: number; slug: string };
  let track: { id: number };
  const refs = { paypal: '', payforit: '', pending: '', later: '' };

  const db = () => store.database.db;
  const orderOf = (reference: string) => db().selectFrom('orders').selectAll().where('reference', '=', reference).executeTakeFirstOrThrow();

  /** A shopper buys with PayPal (paying as `email`) or leaves the order pending; returns its reference. */
  const buyWithPayPal = async (
    items: { kind: 'track' | 'release'; id: number }[],
    options: { email?: string; affiliate?: number; pay?: boolean } = {},
  ) => {
    const shopper = new Shopper(store.baseUrl);
    await shopper.get(`/release/${release.slug}`);
    if (options.affiliate) shopper.setCookie('a', String(options.affiliate));
    for (const item of items) await shopper.post('/basket/add', { kind: item.kind, id: String(item.id) });
    await shopper.get('/checkout');
    const page = await shopper.post('/checkout', { method: 'paypal', adult: 'yes' });
    expect(page.status).toBe(303);
    const token = new URL(page.location!).searchParams.get('token')!;
    if (options.pay !== false) {
      const { redirectUrl } = store.paypal.control.approve(token, { email: options.email ?? 'buyer@example.com' });
      await shopper.follow(await shopper.get(redirectUrl!));
    }
    const payment = await db()
      .selectFrom('payments')
      .innerJoin('orders', 'orders.id', 'payments.order_id')
      .select('orders.reference')
      .where('payments.provider_ref', '=', token)
      .executeTakeFirstOrThrow();
    return payment.reference;
  };

  const buyByMobile = async (items: { kind: 'track' | 'release'; id: number }[], msisdn: string, affiliate: number) => {
    const shopper = new Shopper(store.baseUrl);
    await shopper.get(`/release/${release.slug}`);
    shopper.setCookie('a', String(affiliate));
    for (const item of items) await shopper.post('/basket/add', { kind: item.kind, id: String(item.id) });
    await shopper.get('/checkout');
    const page = await shopper.post('/checkout', { method: 'payforit', adult: 'yes' });
    expect(page.status).toBe(303);
    const payUrl = new URL(page.location!);
    const visit = await payAtStandIn(payUrl.toString(), { msisdn });
    await shopper.get(visit.returnUrl!);
    await store.payforit.control.notificationsSettled();
    return payUrl.searchParams.get('ref')!;
  };

  beforeAll(async () => {
    if (skip) return;
    store = await startTestStore(kind, {
      clock: () => now,
      env: { TRACK_PRICE_PENCE: '79', RELEASE_PRICE_PENCE: '101', SIGN_IN_LIMIT_PER_CLIENT: '1000' },
    });
    const counted = await db()
      .selectFrom('tracks')
      .select(['release_id', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('release_id')
      .orderBy('release_id')
      .execute();
    const multi = counted.find((r) => Number(r.n) >= 2)!;
    release = await db().selectFrom('releases').select(['id', 'slug']).where('id', '=', multi.release_id).executeTakeFirstOrThrow();
    const other = counted.find((r) => r.release_id !== multi.release_id)!;
    track = await db().selectFrom('tracks').select('id').where('release_id', '=', other.release_id).orderBy('id').executeTakeFirstOrThrow();
    // An artist whose name a spreadsheet would run as a formula: it reaches item titles and the CSV.
    const artist = await db().selectFrom('tracks').select('artist_id').where('id', '=', track.id).executeTakeFirstOrThrow();
    await db().updateTable('artists').set({ name: '=HYPERLINK("http://evil.example","x")' }).where('id', '=', artist.artist_id).execute();
    affiliateId = await addAffiliate(db(), { name: 'Blog', email: 'blog@affiliates.example', rateBasisPoints: 2000, flatPence: null }, now);

    refs.paypal = await buyWithPayPal([{ kind: 'track', id: track.id }], { email: 'paypal.buyer@example.com', affiliate: affiliateId });
    flatAffiliateId = await addAffiliate(
      db(),
      { name: 'Flat', email: 'flat@affiliates.example', rateBasisPoints: null, flatPence: 50 },
      now,
    );
    refs.payforit = await buyByMobile([{ kind: 'release', id: release.id }], '07700 900201', flatAffiliateId);
    refs.pending = await buyWithPayPal([{ kind: 'track', id: track.id }], { pay: false });
    now = new Date(DAY_ONE.getTime() + 24 * 3600_000);
    refs.later = await buyWithPayPal([{ kind: 'track', id: track.id }], { email: 'later@example.com' });
    operator = await signInAsOperator(store);
  });
  afterAll(async () => store?.close());

  const listed = async (query: string) => {
    const page = await operator.get(`/admin/orders${query}`);
    expect(page.status).toBe(200);
    return page.html.querySelectorAll('#orders tbody tr').map((tr) => tr.querySelector('td a')!.text);
  };

  it.skipIf(skip)('filters the list by status, method, affiliate, date and reference', async () => {
    expect((await listed('')).sort()).toEqual(Object.values(refs).sort());
    expect(await listed('?status=pending')).toEqual([refs.pending]);
    expect(await listed('?method=payforit')).toEqual([refs.payforit]);
    expect(await listed(`?affiliate=${affiliateId}`)).toEqual([refs.paypal]);
    expect((await listed('?from=2026-11-20&to=2026-11-20')).sort()).toEqual([refs.paypal, refs.payforit, refs.pending].sort());
    expect(await listed('?from=2026-11-21')).toEqual([refs.later]);
    expect(await listed(`?reference=${refs.later.slice(0, 7).toLowerCase()}`)).toContain(refs.later);
    expect(await listed(`?reference=${refs.later}`)).toEqual([refs.later]);
    expect(await listed('?status=paid&method=paypal&from=2026-11-20&to=2026-11-20')).toEqual([refs.paypal]);
    // Bad filters are the operator's typing mistake: a clear 400, never a 500.
    for (const bad of ['?status=lost', '?method=cash', '?affiliate=abc', '?from=2026-02-30', '?reference=%25', '?page=0'])
      expect((await operator.get(`/admin/orders${bad}`)).status).toBe(400);
  });

  it.skipIf(skip)('shows an order with its items, payment ids, timeline, messages and commission', async () => {
    const page = await operator.get(`/admin/orders/${refs.paypal}`);
    expect(page.status).toBe(200);
    const order = await orderOf(refs.paypal);
    const payment = await db().selectFrom('payments').selectAll().where('order_id', '=', order.id).executeTakeFirstOrThrow();
    expect(page.html.querySelector('#order-status')!.text).toBe('paid');
    expect(page.html.querySelector('#payments')!.text).toContain(payment.provider_ref);
    expect(page.html.querySelector('#payments')!.text).toContain(payment.capture_ref!);
    expect(page.html.querySelector('#items')!.text).toContain('=HYPERLINK');
    expect(page.html.querySelectorAll('#events tbody tr').map((tr) => tr.querySelectorAll('td')[1]!.text)).toEqual(['created', 'paid']);
    expect(page.html.querySelector('#messages')!.text).toContain(`order ${refs.paypal}`);
    expect(page.html.querySelector('#commission')!.text).toContain('pending');
    expect(page.text).toContain('paypal.buyer@example.com');
    // The title was escaped, not run.
    expect(page.text).not.toContain('<a href="http://evil.example"');
    expect((await operator.get('/admin/orders/NL-0000-0000-0000')).status).toBe(404);
    expect((await operator.get('/admin/orders/not-a-reference')).status).toBe(404);
  });

  it.skipIf(skip)('exports the filtered list as CSV with formulas neutralised', async () => {
    const response = await fetch(`${store.baseUrl}/admin/orders.csv?method=paypal&from=2026-11-20&to=2026-11-20`, {
      headers: { cookie: `sid=${operator.cookie('sid')}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="?orders-2026-11-21\.csv"?$/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const rows = parseCsv(await response.text());
    expect(rows.map((r) => r.reference).sort()).toEqual([refs.paypal, refs.pending].sort());
    const paid = rows.find((r) => r.reference === refs.paypal)!;
    expect(paid).toMatchObject({
      status: 'paid',
      total_pence: '79',
      payment_method: 'paypal',
      contact: 'paypal.buyer@example.com',
      affiliate_number: String(affiliateId),
      item_count: '1',
    });
    expect(paid.item_titles).toMatch(/^'=HYPERLINK\(/);
    for (const row of rows) for (const cell of Object.values(row)) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
  });

  it.skipIf(skip)('refunds a PayPal order through the stand-in: order, downloads and commission follow, once', async () => {
    const order = await orderOf(refs.paypal);
    expect(await db().selectFrom('entitlements').select('revoked_at').where('order_id', '=', order.id).execute()).toEqual([
      { revoked_at: null },
    ]);
    // Without the tick box (a browser without form validation, a stray POST): nothing happens, and the operator is told why.
    await operator.get(`/admin/orders/${refs.paypal}`);
    const unconfirmed = await operator.post(`/admin/orders/${refs.paypal}/refund`, {});
    expect(unconfirmed.location).toBe(`/admin/orders/${refs.paypal}`);
    expect((await operator.get(unconfirmed.location!)).html.querySelector('.admin-flash--error')!.text).toContain(
      'tick the box to confirm that you want to refund the order',
    );
    expect((await orderOf(refs.paypal)).status).toBe('paid');
    expect(store.paypal.control.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/refund'))).toHaveLength(0);
    // PayPal fails first: the operator is told, nothing changes here, and the attempt is in the audit log.
    store.paypal.control.failNext('refund', 'http500');
    await operator.get(`/admin/orders/${refs.paypal}`);
    await operator.post(`/admin/orders/${refs.paypal}/refund`, { confirm: 'yes' });
    const failed = await operator.get(`/admin/orders/${refs.paypal}`);
    expect(failed.html.querySelector('.admin-flash--error')!.text).toContain('The refund (Pay with PayPal) was not confirmed');
    expect((await orderOf(refs.paypal)).status).toBe('paid');
    expect(await db().selectFrom('entitlements').select('revoked_at').where('order_id', '=', order.id).execute()).toEqual([
      { revoked_at: null },
    ]);
    const done = await operator.post(`/admin/orders/${refs.paypal}/refund`, { confirm: 'yes' });
    expect(done.location).toBe(`/admin/orders/${refs.paypal}`);
    const page = await operator.get(done.location!);
    expect(page.html.querySelector('.admin-flash--info')!.text).toContain('refunded');
    expect(page.html.querySelector('#order-status')!.text).toBe('refunded');
    expect((await orderOf(refs.paypal)).status).toBe('refunded');
    expect(
      (await db().selectFrom('entitlements').select('revoked_at').where('order_id', '=', order.id).execute())[0]!.revoked_at,
    ).not.toBeNull();
    expect(
      await db().selectFrom('affiliate_commissions').select(['status', 'reason']).where('order_id', '=', order.id).executeTakeFirst(),
    ).toEqual({ status: 'rejected', reason: 'refunded' });
    expect(await db().selectFrom('payments').select('status').where('order_id', '=', order.id).execute()).toEqual([{ status: 'refunded' }]);
    const refundCalls = () => store.paypal.control.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/refund'));
    expect(refundCalls()).toHaveLength(2); // the failed one, then the one that worked
    // A second click: refused by state, no second call to PayPal, no second event.
    await operator.post(`/admin/orders/${refs.paypal}/refund`, { confirm: 'yes' });
    const again = await operator.get(`/admin/orders/${refs.paypal}`);
    expect(again.html.querySelector('.admin-flash--error')!.text).toContain('Only a paid order can be refunded');
    expect(refundCalls()).toHaveLength(2);
    await store.paypal.control.webhooksSettled();
    expect(
      (await db().selectFrom('order_events').select('event').where('order_id', '=', order.id).orderBy('id').execute()).map((e) => e.event),
    ).toEqual(['created', 'paid', 'refunded']);
    const audit = await db().selectFrom('admin_audit').select(['action', 'target', 'detail']).where('target', '=', refs.paypal).execute();
    expect(audit).toEqual([
      { action: 'order.refund_failed', target: refs.paypal, detail: expect.stringMatching(/^paypal: /) },
      { action: 'order.refund', target: refs.paypal, detail: expect.stringContaining('refunded') },
    ]);
  });

  it.skipIf(skip)('refunds a mobile order through the intermediary stand-in', async () => {
    const order = await orderOf(refs.payforit);
    const payment = await db().selectFrom('payments').selectAll().where('order_id', '=', order.id).executeTakeFirstOrThrow();
    await operator.get(`/admin/orders/${refs.payforit}`);
    expect((await operator.post(`/admin/orders/${refs.payforit}/refund`, { confirm: 'yes' })).status).toBe(303);
    expect((await orderOf(refs.payforit)).status).toBe('refunded');
    expect(store.payforit.control.transactions().find((t) => t.id === payment.capture_ref)!.refunds).toHaveLength(1);
    expect(
      await db()
        .selectFrom('affiliate_commissions')
        .select(['affiliate_id', 'amount_pence', 'status', 'reason'])
        .where('order_id', '=', order.id)
        .executeTakeFirst(),
    ).toEqual({ affiliate_id: flatAffiliateId, amount_pence: 50, status: 'rejected', reason: 'refunded' });
    expect(await db().selectFrom('payments').select('status').where('order_id', '=', order.id).execute()).toEqual([{ status: 'refunded' }]);
    const entitlements = await db().selectFrom('entitlements').select('revoked_at').where('order_id', '=', order.id).execute();
    expect(entitlements.length).toBeGreaterThanOrEqual(2);
    expect(entitlements.every((e) => e.revoked_at !== null)).toBe(true);
    expect(await db().selectFrom('admin_audit').select('action').where('target', '=', refs.payforit).execute()).toEqual([
      { action: 'order.refund' },
    ]);
  });

  it.skipIf(skip)("cancels only a pending order, refunds only a paid one, and re-sends only a paid order's confirmation", async () => {
    await operator.get(`/admin/orders/${refs.pending}`);
    await operator.post(`/admin/orders/${refs.pending}/refund`, { confirm: 'yes' });
    await operator.post(`/admin/orders/${refs.pending}/resend-confirmation`, {});
    const refused = (await operator.get(`/admin/orders/${refs.pending}`)).html.querySelectorAll('.admin-flash--error').map((p) => p.text);
    expect(refused).toEqual([
      'Only a paid order can be refunded; this one is pending.',
      'Only a paid order has a confirmation to send; this one is pending.',
    ]);
    expect((await orderOf(refs.pending)).status).toBe('pending');
    await operator.post(`/admin/orders/${refs.pending}/cancel`, { confirm: 'no' });
    expect((await operator.get(`/admin/orders/${refs.pending}`)).html.querySelector('.admin-flash--error')!.text).toContain(
      'tick the box to confirm that you want to cancel the order',
    );
    expect((await orderOf(refs.pending)).status).toBe('pending');
    expect((await operator.post(`/admin/orders/${refs.pending}/cancel`, { confirm: 'yes' })).status).toBe(303);
    expect((await orderOf(refs.pending)).status).toBe('cancelled');
    await operator.post(`/admin/orders/${refs.later}/cancel`, { confirm: 'yes' });
    const page = await operator.get(`/admin/orders/${refs.later}`);
    expect(page.html.querySelector('.admin-flash--error')!.text).toContain('Only a pending order can be cancelled');
    expect((await orderOf(refs.later)).status).toBe('paid');

    const order = await orderOf(refs.later);
    const messages = () =>
      db().selectFrom('outbox').select(['kind', 'subject', 'recipient']).where('order_id', '=', order.id).orderBy('id').execute();
    const before = await messages();
    expect(before).toHaveLength(1);
    await operator.post(`/admin/orders/${refs.later}/resend-confirmation`, {});
    const after = await messages();
    expect(after).toEqual([before[0], { kind: 'transactional', subject: before[0]!.subject, recipient: 'later@example.com' }]);
    const audit = await db()
      .selectFrom('admin_audit')
      .select(['action', 'target'])
      .where('target', 'in', [refs.pending, refs.later])
      .orderBy('id')
      .execute();
    expect(audit).toEqual([
      { action: 'order.cancel', target: refs.pending },
      { action: 'order.resend_confirmation', target: refs.later },
    ]);
    const audited = await operator.get('/admin/audit');
    expect(audited.html.querySelector('#audit')!.text).toContain('order.resend_confirmation');
  });

  it.skipIf(skip)('gives the same order_overview and daily_sales rows on either database', async () => {
    const overview = await db().selectFrom('order_overview').selectAll().where('reference', 'in', Object.values(refs)).execute();
    const byRef = Object.fromEntries(overview.map((r) => [r.reference, r]));
    const day1 = '2026-11-20 10:00:00';
    const day2 = '2026-11-21 10:00:00';
    const trackTitle = expect.stringMatching(/^=HYPERLINK/);
    expect(byRef[refs.paypal]).toEqual({
      reference: refs.paypal,
      status: 'refunded',
      created_at: day1,
      paid_at: day1,
      total_pence: 79,
      currency: 'GBP',
      payment_method: 'paypal',
      contact: 'paypal.buyer@example.com',
      affiliate_id: affiliateId,
      item_count: 1,
      item_titles: trackTitle,
    });
    expect(byRef[refs.payforit]).toMatchObject({
      status: 'refunded',
      paid_at: day1,
      total_pence: 101,
      payment_method: 'payforit',
      contact: '447700900201',
      affiliate_id: flatAffiliateId,
      item_count: 1,
    });
    expect(byRef[refs.pending]).toMatchObject({ status: 'cancelled', paid_at: null, contact: null, item_count: 1 });
    expect(byRef[refs.later]).toMatchObject({
      status: 'paid',
      created_at: day2,
      paid_at: day2,
      total_pence: 79,
      contact: 'later@example.com',
      item_count: 1,
    });

    const sales = await db().selectFrom('daily_sales').selectAll().orderBy('day').orderBy('payment_method').execute();
    expect(sales).toEqual([
      {
        day: '2026-11-20',
        payment_method: 'payforit',
        orders_paid: 1,
        revenue_pence: 101,
        items: 1,
        orders_refunded: 1,
        refunded_pence: 101,
        referred_orders: 1,
      },
      {
        day: '2026-11-20',
        payment_method: 'paypal',
        orders_paid: 1,
        revenue_pence: 79,
        items: 1,
        orders_refunded: 1,
        refunded_pence: 79,
        referred_orders: 1,
      },
      {
        day: '2026-11-21',
        payment_method: 'paypal',
        orders_paid: 1,
        revenue_pence: 79,
        items: 1,
        orders_refunded: 0,
        refunded_pence: 0,
        referred_orders: 0,
      },
    ]);
  });

  it.skipIf(skip)('answers the example queries of docs/operating.md ("what sold today and who referred it") on this database', async () => {
    const readme = fs.readFileSync('docs/operating.md', 'utf8');
    const section = readme.slice(readme.indexOf('## In the database'));
    const statements = [...section.matchAll(/```sql\n([\s\S]*?)```/g)]
      .flatMap((m) => m[1]!.split(';'))
      .map((q) => q.trim())
      .filter(Boolean);
    expect(statements).toHaveLength(3);
    // "Today" is the second day of this test's orders.
    const run = async (text: string) =>
      (await sql.raw(text.replaceAll('CURRENT_DATE', "'2026-11-21'")).execute(db())).rows as Record<string, unknown>[];
    expect(await run(statements[0]!)).toEqual([
      expect.objectContaining({ reference: refs.later, total_pence: 79, payment_method: 'paypal', affiliate_id: null, referred_by: null }),
    ]);
    expect(await run(statements[1]!)).toEqual([{ referred_by: '(none)', orders: 1, pence: 79 }]);
    expect((await run(statements[2]!)).map((r) => [r.day, r.payment_method, r.net_pence])).toEqual([
      ['2026-11-21', 'paypal', 79],
      ['2026-11-20', 'payforit', 0],
      ['2026-11-20', 'paypal', 0],
    ]);
  });
});
