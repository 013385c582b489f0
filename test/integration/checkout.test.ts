import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from '../helpers/databases.js';
import { Shopper } from '../helpers/shopper.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

describe.each(databaseKinds())('basket, checkout and PayPal on $kind', ({ kind, skip }) => {
  let store: TestStore;
  let release: { id: number; title: string; slug: string };
  let looseTrack: { id: number; title: string };
  let coveredTrack: { id: number; title: string };

  beforeAll(async () => {
    if (skip) return;
    store = await startTestStore(kind, { env: { PAYPAL_TIMEOUT_MS: '1500' } });
    const db = store.database.db;
    const releases = await db.selectFrom('releases').select(['id', 'title', 'slug']).orderBy('id').limit(2).execute();
    release = releases[0]!;
    looseTrack = await db
      .selectFrom('tracks')
      .select(['id', 'title'])
      .where('release_id', '=', releases[1]!.id)
      .orderBy('id')
      .executeTakeFirstOrThrow();
    coveredTrack = await db
      .selectFrom('tracks')
      .select(['id', 'title'])
      .where('release_id', '=', release.id)
      .orderBy('id')
      .executeTakeFirstOrThrow();
  });
  afterAll(async () => store?.close());

  const db = () => store.database.db;
  const newShopper = async () => {
    const shopper = new Shopper(store.baseUrl);
    await shopper.get(`/release/${release.slug}`); // picks up a session and a CSRF token
    return shopper;
  };
  const fillBasket = async (shopper: Shopper) => {
    await shopper.post('/basket/add', { kind: 'track', id: String(looseTrack.id) });
    await shopper.post('/basket/add', { kind: 'release', id: String(release.id) });
    await shopper.get('/checkout');
  };
  /** Checks out with PayPal; returns the PayPal order id from the approve link. */
  const checkout = async (shopper: Shopper, extra: Record<string, string> = {}) => {
    const page = await shopper.post('/checkout', { method: 'paypal', adult: 'yes', ...extra });
    expect(page.status).toBe(303);
    const approve = new URL(page.location!);
    expect(approve.origin).toBe(store.paypal.url);
    return approve.searchParams.get('token')!;
  };
  const orderFor = (paypalOrderId: string) =>
    db()
      .selectFrom('payments')
      .innerJoin('orders', 'orders.id', 'payments.order_id')
      .selectAll('orders')
      .where('payments.provider_ref', '=', paypalOrderId)
      .executeTakeFirstOrThrow();
  const events = async (orderId: number) =>
    (await db().selectFrom('order_events').select('event').where('order_id', '=', orderId).orderBy('id').execute()).map((e) => e.event);
  const approveAndReturn = async (shopper: Shopper, paypalOrderId: string, options: { email?: string; declined?: boolean } = {}) => {
    const { redirectUrl } = store.paypal.control.approve(paypalOrderId, options);
    return shopper.get(redirectUrl!);
  };

  it.skipIf(skip)('keeps a basket in the session: a release covers its tracks, and the header counts items', async () => {
    const shopper = await newShopper();
    await shopper.post('/basket/add', { kind: 'track', id: String(coveredTrack.id) });
    const added = await shopper.follow(
      await shopper.post('/basket/add', { kind: 'release', id: String(release.id), back: `/release/${release.slug}` }),
    );
    expect(added.text).toContain('taken out');
    expect(added.html.querySelector('.site-nav .badge')!.text).toBe('1');
    const again = await shopper.follow(await shopper.post('/basket/add', { kind: 'track', id: String(coveredTrack.id) }));
    expect(again.text).toContain('already in your basket as part of');
    const basket = await shopper.get('/basket');
    expect(basket.html.querySelectorAll('table.basket tbody tr')).toHaveLength(1);
    await shopper.post('/basket/remove', { kind: 'release', id: String(release.id) });
    expect((await shopper.get('/basket')).html.querySelector('.empty')).not.toBeNull();
    expect((await shopper.post('/basket/add', { kind: 'track', id: '99999999' })).status).toBe(303);
    expect((await shopper.post('/basket/add', { kind: 'album', id: '1' })).status).toBe(400);
    expect((await shopper.post('/basket/add', { kind: 'track', id: String(looseTrack.id), back: 'https://evil.example/' })).location).toBe(
      '/basket',
    );
  });

  it.skipIf(skip)('takes a shopper from basket to a paid order; keeps the payer email and nothing else about them', async () => {
    const shopper = await newShopper();
    await fillBasket(shopper);
    const paypalOrderId = await checkout(shopper, { marketing: 'yes' });
    const returned = await approveAndReturn(shopper, paypalOrderId, { email: 'Fan@Example.com' });
    expect(returned.status).toBe(303);
    const page = await shopper.follow(returned);
    expect(page.html.querySelector('h1')!.text).toContain('your order is paid');
    expect(page.text).toContain('fan@example.com');

    const order = await orderFor(paypalOrderId);
    expect(order.status).toBe('paid');
    expect(order.age_confirmed_at).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(await events(order.id)).toEqual(['created', 'paid']);
    const items = await db()
      .selectFrom('order_items')
      .select(['track_id', 'release_id', 'price_pence'])
      .where('order_id', '=', order.id)
      .orderBy('id')
      .execute();
    expect(items).toHaveLength(2);
    expect(items.reduce((s, i) => s + i.price_pence, 0)).toBe(order.total_pence);
    const customer = await db().selectFrom('customers').selectAll().where('id', '=', order.customer_id!).executeTakeFirstOrThrow();
    expect(customer.email).toBe('fan@example.com');
    expect(customer.marketing_opt_in).toBe(1);
    // PayPal sent the payer's name and address; none of it may be anywhere in the database.
    const paypalView = JSON.stringify(store.paypal.control.orders().find((o) => o.id === paypalOrderId));
    expect(paypalView).toContain('Test Buyer');
    const everything = JSON.stringify(
      await Promise.all(
        ['orders', 'order_items', 'order_events', 'payments', 'customers', 'provider_events', 'sessions'].map((t) =>
          db()
            .selectFrom(t as 'orders')
            .selectAll()
            .execute(),
        ),
      ),
    );
    for (const secret of ['Test Buyer', 'Test', 'Buyer', 'payer_id', 'address_line', 'postal_code'])
      expect(everything).not.toContain(secret);
    // The basket empties once the order is paid.
    expect((await shopper.get('/basket')).html.querySelector('.empty')).not.toBeNull();
  });

  it.skipIf(skip)('prices from the database, ignoring prices and items in the form', async () => {
    const shopper = await newShopper();
    await fillBasket(shopper);
    const paypalOrderId = await checkout(shopper, { price: '1', total_pence: '1', 'items[0][price]': '0', id: '1', kind: 'release' });
    const order = await orderFor(paypalOrderId);
    const sent = store.paypal.control
      .requests()
      .find((r) => r.method === 'POST' && r.path === '/v2/checkout/orders' && JSON.stringify(r.body).includes(order.reference))!;
    const body = typeof sent.body === 'string' ? JSON.parse(sent.body) : sent.body;
    expect(body.purchase_units[0].amount.value).toBe((order.total_pence / 100).toFixed(2));
    expect(order.total_pence).toBeGreaterThan(100);
    expect(body.intent).toBe('CAPTURE');
    expect(body.purchase_units[0].invoice_id).toBe(order.reference);
  });

  it.skipIf(skip)('refuses checkout with an empty basket, without the 18+ tick, or with an unknown method', async () => {
    const empty = await newShopper();
    expect((await empty.get('/checkout')).location).toBe('/basket');
    const emptyPost = await empty.post('/checkout', { method: 'paypal', adult: 'yes' });
    expect(emptyPost.status).toBe(400);
    expect(emptyPost.text).toContain('basket is empty');

    const shopper = await newShopper();
    await fillBasket(shopper);
    const before = await db()
      .selectFrom('orders')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const noTick = await shopper.post('/checkout', { method: 'paypal' });
    expect(noTick.status).toBe(400);
    expect(noTick.text).toContain('18 or over');
    expect((await shopper.post('/checkout', { method: 'bitcoin', adult: 'yes' })).status).toBe(400);
    const after = await db()
      .selectFrom('orders')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
  });

  it.skipIf(skip)('answers a replayed return without paying twice, and a return for an unapproved order without paying', async () => {
    const shopper = await newShopper();
    await fillBasket(shopper);
    const paypalOrderId = await checkout(shopper);
    const unapproved = await shopper.get(`/checkout/paypal/return?token=${paypalOrderId}&PayerID=X`);
    expect(unapproved.status).toBe(409);
    expect((await orderFor(paypalOrderId)).status).toBe('pending');

    const { redirectUrl } = store.paypal.control.approve(paypalOrderId);
    await shopper.get(redirectUrl!);
    const replay = await shopper.get(redirectUrl!);
    expect(replay.status).toBe(303);
    const order = await orderFor(paypalOrderId);
    expect(await events(order.id)).toEqual(['created', 'paid']);
  });

  it.skipIf(skip)('applies the return and the webhook exactly once when they race', async () => {
    const rounds = 6;
    for (let i = 0; i < rounds; i++) {
      const shopper = await newShopper();
      await fillBasket(shopper);
      const paypalOrderId = await checkout(shopper);
      const { redirectUrl } = store.paypal.control.approve(paypalOrderId, { email: `racer${i}@example.com` });
      // The approved-order webhook captures too: both paths race to the same order.
      await Promise.all([
        shopper.get(redirectUrl!),
        shopper.get(redirectUrl!),
        store.paypal.control.sendWebhook('CHECKOUT.ORDER.APPROVED', paypalOrderId),
      ]);
      await store.paypal.control.webhooksSettled();
      const order = await orderFor(paypalOrderId);
      expect(order.status).toBe('paid');
      expect((await events(order.id)).filter((e) => e === 'paid')).toHaveLength(1);
      const customers = await db().selectFrom('customers').select('id').where('email', '=', `racer${i}@example.com`).execute();
      expect(customers).toHaveLength(1);
    }
  });

  it.skipIf(skip)('pays an order whose shopper closed the tab after approving, from the webhook alone, once', async () => {
    const shopper = await newShopper();
    await fillBasket(shopper);
    const paypalOrderId = await checkout(shopper);
    store.paypal.control.approve(paypalOrderId, { email: 'closed-tab@example.com' });
    const sent = await store.paypal.control.sendWebhook('CHECKOUT.ORDER.APPROVED', paypalOrderId);
    expect(sent.response?.status).toBe(200);
    await store.paypal.control.webhooksSettled();
    await store.paypal.control.replayLastWebhook();
    await store.paypal.control.sendWebhook('PAYMENT.CAPTURE.COMPLETED', paypalOrderId);
    await store.paypal.control.webhooksSettled();
    const order = await orderFor(paypalOrderId);
    expect(order.status).toBe('paid');
    expect((await events(order.id)).filter((e) => e === 'paid')).toHaveLength(1);
    // The shopper comes back later after all: still one payment.
    expect(
      (await shopper.follow(await shopper.get(`/checkout/paypal/return?token=${paypalOrderId}`))).html.querySelector('h1')!.text,
    ).toContain('paid');
  });

  it.skipIf(skip)('rejects a forged webhook with 400 and applies nothing', async () => {
    const shopper = await newShopper();
    await fillBasket(shopper);
    const paypalOrderId = await checkout(shopper);
    store.paypal.control.approve(paypalOrderId);
    const forged = {
      id: 'WH-FORGED-1',
      event_type: 'CHECKOUT.ORDER.APPROVED',
      resource: { id: paypalOrderId },
    };
    const response = await fetch(`${store.baseUrl}/webhooks/paypal`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'paypal-transmission-id': 'abc',
        'paypal-transmission-time': new Date().toISOString(),
        'paypal-transmission-sig': 'c2ln',
        'paypal-cert-url': 'https://api.paypal.com/cert.pem',
        'paypal-auth-algo': 'SHA256withRSA',
      },
      body: JSON.stringify(forged),
    });
    expect(response.status).toBe(400);
    const bare = await fetch(`${store.baseUrl}/webhooks/paypal`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(bare.status).toBe(400);
    expect((await orderFor(paypalOrderId)).status).toBe('pending');
    expect(await db().selectFrom('provider_events').select('id').where('event_id', '=', 'WH-FORGED-1').executeTakeFirst()).toBeUndefined();
  });

  it.skipIf(skip)('lets a shopper whose card was declined try again and pay', async () => {
    const shopper = await newShopper();
    await fillBasket(shopper);
    const paypalOrderId = await checkout(shopper);
    const declined = await shopper.follow(await approveAndReturn(shopper, paypalOrderId, { declined: true }));
    expect(declined.html.querySelector('h1')!.text).toContain('declined');
    const order = await orderFor(paypalOrderId);
    expect(order.status).toBe('pending');
    const retry = await shopper.post(`/orders/${order.reference}/retry`, {});
    expect(retry.location).toContain(store.paypal.url);
    const paid = await shopper.follow(await approveAndReturn(shopper, paypalOrderId, { email: 'second-try@example.com' }));
    expect(paid.html.querySelector('h1')!.text).toContain('paid');
    expect(await events(order.id)).toEqual(['created', 'payment_declined', 'paid']);
  });

  it.skipIf(skip)('survives PayPal failing at create (nothing charged, basket kept) and at capture (confirmed later)', async () => {
    const shopper = await newShopper();
    await fillBasket(shopper);
    store.paypal.control.failNext('create', 'http500');
    const failed = await shopper.post('/checkout', { method: 'paypal', adult: 'yes' });
    expect(failed.status).toBe(503);
    expect(failed.text).toContain('nothing was charged');
    expect((await shopper.get('/basket')).html.querySelectorAll('table.basket tbody tr').length).toBe(2);
    const failedOrder = await db().selectFrom('orders').select(['status', 'id']).orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(failedOrder.status).toBe('failed');

    // A create whose answer is lost is retried under the same PayPal-Request-Id: one PayPal order.
    store.paypal.control.failNext('create', 'timeout', { afterProcessing: true });
    const paypalOrderId = await checkout(shopper);
    const order = await orderFor(paypalOrderId);
    const creates = store.paypal.control
      .requests()
      .filter(
        (r) => r.path === '/v2/checkout/orders' && r.method === 'POST' && r.headers['paypal-request-id'] === `create-${order.reference}`,
      );
    expect(creates.length).toBe(2);
    expect(store.paypal.control.orders().filter((o) => JSON.stringify(o).includes(order.reference))).toHaveLength(1);

    store.paypal.control.failNext('capture', 'http500');
    const { redirectUrl } = store.paypal.control.approve(paypalOrderId);
    const pending = await shopper.follow(await shopper.get(redirectUrl!));
    expect(pending.html.querySelector('h1')!.text).toContain('confirming');
    expect((await orderFor(paypalOrderId)).status).toBe('pending');
    const checked = await shopper.follow(await shopper.post(`/orders/${order.reference}/check`, {}));
    expect(checked.html.querySelector('h1')!.text).toContain('paid');
  });

  it.skipIf(skip)('survives a capture whose answer is lost: retried under the same PayPal-Request-Id, captured once', async () => {
    const shopper = await newShopper();
    await fillBasket(shopper);
    const paypalOrderId = await checkout(shopper);
    store.paypal.control.failNext('capture', 'timeout', { afterProcessing: true });
    const { redirectUrl } = store.paypal.control.approve(paypalOrderId);
    const page = await shopper.follow(await shopper.get(redirectUrl!));
    expect(page.html.querySelector('h1')!.text).toContain('paid');
    const captures = store.paypal.control.requests().filter((r) => r.path === `/v2/checkout/orders/${paypalOrderId}/capture`);
    expect(captures).toHaveLength(2);
    expect(captures[0]!.headers['paypal-request-id']).toBe(captures[1]!.headers['paypal-request-id']);
    const order = await orderFor(paypalOrderId);
    expect((await events(order.id)).filter((e) => e === 'paid')).toHaveLength(1);
  });

  it.skipIf(skip)('shows an order only to the session that placed it', async () => {
    const owner = await newShopper();
    await fillBasket(owner);
    const paypalOrderId = await checkout(owner);
    const order = await orderFor(paypalOrderId);
    const stranger = await newShopper();
    expect((await stranger.get(`/orders/${order.reference}`)).status).toBe(404);
    expect((await stranger.get(`/checkout/paypal/return?token=${paypalOrderId}`)).status).toBe(404);
    expect((await stranger.post(`/orders/${order.reference}/check`, {})).status).toBe(404);
    expect((await owner.get(`/orders/${order.reference}`)).status).toBe(200);
    expect((await owner.get('/orders/NL-0000-0000-000')).status).toBe(404);
  });

  it.skipIf(skip)('records a capture that does not match the order and does not fulfil it', async () => {
    const shopper = await newShopper();
    await fillBasket(shopper);
    const paypalOrderId = await checkout(shopper);
    const order = await orderFor(paypalOrderId);
    // The order's total changes behind PayPal's back (as a bug or a tampering would).
    await db()
      .updateTable('orders')
      .set({ total_pence: order.total_pence + 100 })
      .where('id', '=', order.id)
      .execute();
    await shopper.follow(await approveAndReturn(shopper, paypalOrderId));
    const after = await orderFor(paypalOrderId);
    expect(after.status).toBe('pending');
    expect(await events(order.id)).toContain('capture_mismatch');
    const payment = await db().selectFrom('payments').select('status').where('provider_ref', '=', paypalOrderId).executeTakeFirstOrThrow();
    expect(payment.status).toBe('mismatch');
  });

  it.skipIf(skip)('refunds through PayPal once, however often the refund webhook arrives', async () => {
    const shopper = await newShopper();
    await fillBasket(shopper);
    const paypalOrderId = await checkout(shopper);
    await approveAndReturn(shopper, paypalOrderId);
    const order = await orderFor(paypalOrderId);
    const payment = await db().selectFrom('payments').selectAll().where('provider_ref', '=', paypalOrderId).executeTakeFirstOrThrow();
    const paypal = store.app.methods.find((m) => m.id === 'paypal')!;
    await paypal.refund({ providerRef: payment.provider_ref, captureRef: payment.capture_ref, amountPence: order.total_pence });
    await store.paypal.control.webhooksSettled();
    await store.paypal.control.replayLastWebhook();
    expect((await orderFor(paypalOrderId)).status).toBe('refunded');
    expect((await events(order.id)).filter((e) => e === 'refunded')).toHaveLength(1);
  });

  it.skipIf(skip)('expires a pending order after its time, and still accepts a late payment', async () => {
    const shopper = await newShopper();
    await fillBasket(shopper);
    const paypalOrderId = await checkout(shopper);
    const order = await orderFor(paypalOrderId);
    await db().updateTable('orders').set({ expires_at: '2000-01-01 00:00:00' }).where('id', '=', order.id).execute();
    expect(await store.app.orders.expireStale()).toBeGreaterThanOrEqual(1);
    expect((await orderFor(paypalOrderId)).status).toBe('expired');
    await approveAndReturn(shopper, paypalOrderId);
    expect((await orderFor(paypalOrderId)).status).toBe('paid');
    expect(await events(order.id)).toEqual(['created', 'expired', 'paid']);
  });

  it.skipIf(skip)(
    'takes a last look at the provider before expiring: an approved payment whose shopper never came back is captured, an unapproved one expires',
    async () => {
      const returnedNever = await newShopper();
      await fillBasket(returnedNever);
      const approvedId = await checkout(returnedNever);
      store.paypal.control.approve(approvedId); // approved at PayPal; the browser never comes back, no webhook
      const abandoned = await newShopper();
      await fillBasket(abandoned);
      const abandonedId = await checkout(abandoned);
      for (const id of [approvedId, abandonedId])
        await db()
          .updateTable('orders')
          .set({ expires_at: '2000-01-01 00:00:00' })
          .where('id', '=', (await orderFor(id)).id)
          .execute();

      await store.app.expirePendingOrders();
      const paid = await orderFor(approvedId);
      expect(paid.status).toBe('paid');
      expect(await events(paid.id)).toEqual(['created', 'paid']);
      expect(await db().selectFrom('outbox').select('id').where('order_id', '=', paid.id).execute()).toHaveLength(1);
      expect((await orderFor(abandonedId)).status).toBe('expired');
    },
  );
});
