import { parse } from 'node-html-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeSignature, signParams, verifyParams } from '../../src/payments/payforit/signature.js';
import { formatPrice } from '../../src/web/view-helpers.js';
import { databaseKinds } from '../helpers/databases.js';
import {
  confirmAtStandIn,
  payAtStandIn,
  postNotification,
  sendNotification,
  signedPaymentRequest,
  signedReturn,
  waitFor,
} from '../helpers/payforit.js';
import { Shopper } from '../helpers/shopper.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

describe.each(databaseKinds())('pay by mobile (PayForIt) on $kind', ({ kind, skip }) => {
  let store: TestStore;
  let release: { id: number; slug: string };
  let secondRelease: { id: number };
  /** Releases whose prices add up to more than the scheme maximum. */
  let bigReleases: { id: number }[];
  let track: { id: number; title: string };

  beforeAll(async () => {
    if (skip) return;
    store = await startTestStore(kind);
    const db = store.database.db;
    const releases = await db.selectFrom('releases').select(['id', 'slug']).orderBy('id').limit(2).execute();
    release = releases[0]!;
    secondRelease = releases[1]!;
    const byTracks = await db
      .selectFrom('tracks')
      .select(['release_id', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('release_id')
      .orderBy('n', 'desc')
      .execute();
    bigReleases = [];
    for (let sum = 0; sum <= 1000 && bigReleases.length < byTracks.length;) {
      const next = byTracks[bigReleases.length]!;
      bigReleases.push({ id: next.release_id });
      sum += Math.min(699, Number(next.n) * 79);
    }
    track = await db
      .selectFrom('tracks')
      .select(['id', 'title'])
      .where('release_id', '=', secondRelease.id)
      .orderBy('id')
      .executeTakeFirstOrThrow();
  });
  afterAll(async () => store?.close());

  const db = () => store.database.db;
  const control = () => store.payforit.control;
  const newShopper = async () => {
    const shopper = new Shopper(store.baseUrl);
    await shopper.get(`/release/${release.slug}`);
    return shopper;
  };
  /** A release and a loose track from another: inside the scheme maximum at the default prices. */
  const fillBasket = async (shopper: Shopper) => {
    await shopper.post('/basket/add', { kind: 'release', id: String(release.id) });
    await shopper.post('/basket/add', { kind: 'track', id: String(track.id) });
    return shopper.get('/checkout');
  };
  /** Checks out by mobile; returns the signed payment request the browser is sent to. */
  const checkout = async (shopper: Shopper, extra: Record<string, string> = {}) => {
    const page = await shopper.post('/checkout', { method: 'payforit', adult: 'yes', ...extra });
    expect(page.status).toBe(303);
    const payUrl = new URL(page.location!);
    expect(`${payUrl.origin}${payUrl.pathname}`).toBe(`${store.payforit.url}/pay`);
    return { payUrl: payUrl.toString(), ref: payUrl.searchParams.get('ref')! };
  };
  const order = (ref: string) => db().selectFrom('orders').selectAll().where('reference', '=', ref).executeTakeFirstOrThrow();
  const events = async (ref: string) => {
    const { id } = await order(ref);
    return (await db().selectFrom('order_events').select('event').where('order_id', '=', id).orderBy('id').execute()).map((e) => e.event);
  };
  const payments = async (ref: string) => {
    const { id } = await order(ref);
    return db()
      .selectFrom('payments')
      .select(['provider_ref', 'capture_ref', 'status', 'amount_pence', 'method'])
      .where('order_id', '=', id)
      .orderBy('id')
      .execute();
  };
  const totalOf = async (ref: string) => String((await order(ref)).total_pence);
  const heading = async (shopper: Shopper, ref: string) => (await shopper.get(`/orders/${ref}`)).html.querySelector('h1')!.text;
  const pendingOrder = async () => {
    const shopper = await newShopper();
    await fillBasket(shopper);
    return { shopper, ...(await checkout(shopper)) };
  };

  it.skipIf(skip)(
    'takes a shopper from checkout through the payment page and PIN to a paid order keyed by the mobile number alone',
    async () => {
      const shopper = await newShopper();
      const checkoutPage = await fillBasket(shopper);
      expect(checkoutPage.html.querySelector('button[value="payforit"]')!.text).toContain('Pay by mobile');
      // PayPal first, then mobile.
      expect(checkoutPage.html.querySelectorAll('.pay-buttons button').map((b) => b.getAttribute('value'))).toEqual(['paypal', 'payforit']);
      const { payUrl, ref } = await checkout(shopper, { marketing: 'yes' });

      // The signed request: the order's reference and frozen total, our own return address.
      const request = Object.fromEntries(new URL(payUrl).searchParams);
      expect(verifyParams(request, store.payforit.secret, new Date())).toEqual({ ok: true });
      const placed = await order(ref);
      expect(request).toMatchObject({
        merchant_id: store.payforit.merchantId,
        ref,
        amount_pence: String(placed.total_pence),
        currency: 'GBP',
        return_url: `${store.baseUrl}/checkout/payforit/return`,
      });
      expect(placed.total_pence).toBeGreaterThan(79);
      expect(placed.total_pence).toBeLessThanOrEqual(1000);
      expect([...request.description!].length).toBeLessThanOrEqual(60);
      expect(await payments(ref)).toEqual([
        { provider_ref: `ref:${ref}`, capture_ref: null, status: 'created', amount_pence: null, method: 'payforit' },
      ]);

      control().setNetwork('07700 900123', 'Vodafone');
      const visit = await payAtStandIn(payUrl, { msisdn: '+44 (0)7700 900-123' });
      const [first, pinStep] = visit.pages;
      expect(first).toContain(store.config.storeName);
      expect(parse(first!).querySelector('.summary')!.text).toContain(request.description!);
      expect(first).toContain(formatPrice(placed.total_pence));
      expect(first).toContain('phone bill');
      expect(pinStep).toContain('Confirm');
      expect(pinStep).toContain('Cancel');
      expect(
        control()
          .sentTexts('447700900123')
          .filter((t) => t.kind === 'pin')
          .at(-1)!.body,
      ).toContain(visit.pin!);

      const landed = await shopper.follow(await shopper.get(visit.returnUrl!));
      expect(landed.html.querySelector('h1')!.text).toContain('your order is paid');
      // Shown as a person writes it, never as the bare digits the store keeps.
      expect(landed.text).toContain('+44 7700 900123');
      expect(landed.text).not.toContain('447700900123');

      const paid = await order(ref);
      expect(paid.status).toBe('paid');
      expect(await events(ref)).toEqual(['created', 'paid']);
      expect(await payments(ref)).toEqual([
        {
          provider_ref: visit.transactionId,
          capture_ref: visit.transactionId,
          status: 'captured',
          amount_pence: placed.total_pence,
          method: 'payforit',
        },
      ]);
      const customer = await db().selectFrom('customers').selectAll().where('id', '=', paid.customer_id!).executeTakeFirstOrThrow();
      expect(customer).toMatchObject({ msisdn: '447700900123', email: null, marketing_opt_in: 1 });
      const overview = await db().selectFrom('order_overview').selectAll().where('reference', '=', ref).executeTakeFirstOrThrow();
      expect(overview).toMatchObject({ status: 'paid', payment_method: 'payforit', contact: '447700900123' });

      // The notification is answered OK, once the outcome is recorded; the receipt SMS is the intermediary's.
      await control().notificationsSettled();
      const sent = control().sentNotifications(visit.transactionId);
      expect(sent.map((n) => [n.attempt, n.response?.status, n.response?.body])).toEqual([[1, 200, 'OK']]);
      expect(
        control()
          .sentTexts('447700900123')
          .some((t) => t.kind === 'receipt' && t.body.includes(visit.transactionId)),
      ).toBe(true);
      // The network and the typed form of the number are nowhere in the database.
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
      for (const secret of ['Vodafone', '07700', '+44', 'network']) expect(everything).not.toContain(secret);
    },
  );

  it.skipIf(skip)(
    'shows a declined payment with a way to try again or pay another way, and the next attempt pays the same order',
    async () => {
      const { shopper, payUrl, ref } = await pendingOrder();
      control().chooseOutcome('declined');
      const declined = await payAtStandIn(payUrl);
      const page = await shopper.follow(await shopper.get(declined.returnUrl!));
      expect(page.html.querySelector('h1')!.text).toContain('declined');
      expect(page.html.querySelector('a[href="/checkout"]')!.text).toContain('Pay another way');
      expect((await order(ref)).status).toBe('pending');
      expect(await payments(ref)).toMatchObject([{ provider_ref: declined.transactionId, status: 'declined' }]);

      const retry = await shopper.post(`/orders/${ref}/retry`, {});
      expect(retry.status).toBe(303);
      const again = new URL(retry.location!);
      expect(again.searchParams.get('ref')).toBe(ref);
      expect(again.searchParams.get('amount_pence')).toBe(await totalOf(ref));
      const second = await payAtStandIn(retry.location!, { msisdn: '07700 900124' });
      expect(second.transactionId).not.toBe(declined.transactionId);
      expect((await shopper.follow(await shopper.get(second.returnUrl!))).html.querySelector('h1')!.text).toContain('paid');
      await control().notificationsSettled();
      expect(await events(ref)).toEqual(['created', 'payment_declined', 'paid']);
      expect((await payments(ref)).map((p) => [p.provider_ref, p.status])).toEqual([
        [declined.transactionId, 'declined'],
        [second.transactionId, 'captured'],
      ]);
    },
  );

  it.skipIf(skip)('shows a cancelled payment, charges nothing, and leaves the order payable by another attempt', async () => {
    const { shopper, payUrl, ref } = await pendingOrder();
    const cancelled = await payAtStandIn(payUrl, { action: 'cancel' });
    expect(new URL(cancelled.returnUrl!).searchParams.get('status')).toBe('cancelled');
    const page = await shopper.follow(await shopper.get(cancelled.returnUrl!));
    expect(page.html.querySelector('h1')!.text).toContain('Payment cancelled');
    await control().notificationsSettled();
    expect((await order(ref)).status).toBe('cancelled');
    expect(await payments(ref)).toMatchObject([{ provider_ref: cancelled.transactionId, status: 'cancelled' }]);
    expect(
      control()
        .sentTexts()
        .some((t) => t.kind === 'receipt' && t.body.includes(cancelled.transactionId)),
    ).toBe(false);

    const retry = await shopper.post(`/orders/${ref}/retry`, {});
    const second = await payAtStandIn(retry.location!, { msisdn: '07700 900125' });
    expect((await shopper.follow(await shopper.get(second.returnUrl!))).html.querySelector('h1')!.text).toContain('paid');
    expect(await events(ref)).toEqual(['created', 'payment_cancelled', 'cancelled', 'paid']);
  });

  it.skipIf(skip)(
    'shows a failed payment as not gone through, with a way to try again, and a wrong PIN three times fails the attempt',
    async () => {
      const { shopper, payUrl, ref } = await pendingOrder();
      control().chooseOutcome('failed', { msisdn: '07700 900126' });
      const failed = await payAtStandIn(payUrl, { msisdn: '07700 900126' });
      const page = await shopper.follow(await shopper.get(failed.returnUrl!));
      expect(page.html.querySelector('h1')!.text).toContain('did not go through');
      expect(page.html.querySelector(`form[action="/orders/${ref}/retry"]`)).not.toBeNull();
      control().chooseOutcome('charged', { msisdn: '07700 900126' });

      const retry = await shopper.post(`/orders/${ref}/retry`, {});
      const visit = await payAtStandIn(retry.location!, { msisdn: '07700 900127', action: 'none' });
      const wrong = (pin: string) =>
        fetch(`${store.payforit.url}/pay/${visit.transactionId}/confirm`, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ pin }),
        });
      const bad = visit.pin === '000000' ? '111111' : '000000';
      expect((await wrong(bad)).status).toBe(400);
      expect((await wrong(bad)).status).toBe(400);
      const third = await wrong(bad);
      expect(third.status).toBe(303);
      expect(new URL(third.headers.get('location')!).searchParams.get('status')).toBe('failed');
      await control().notificationsSettled();
      expect((await order(ref)).status).toBe('pending');
      expect((await payments(ref)).map((p) => p.status)).toEqual(['failed', 'failed']);
    },
  );

  it.skipIf(skip)('rejects a notification with a bad, missing or foreign signature, and applies nothing', async () => {
    const { ref } = await pendingOrder();
    const fields = { ref, transaction_id: 'pfi_forged_1', amount_pence: await totalOf(ref), status: 'charged', msisdn: '447700900199' };
    const signed = signParams(
      { merchant_id: store.payforit.merchantId, currency: 'GBP', network: 'EE', ...fields },
      store.payforit.secret,
      new Date(),
    );

    const tampered = new URLSearchParams({ ...signed, amount_pence: '1' }).toString();
    expect(await postNotification(store, tampered)).toEqual({ status: 400, body: 'bad-signature' });
    const { signature: _s, ...unsigned } = signed;
    expect(await postNotification(store, new URLSearchParams(unsigned).toString())).toEqual({ status: 400, body: 'missing-signature' });
    expect((await sendNotification(store, fields, { secret: 'another-secret-that-is-long-enough-000' })).status).toBe(400);
    expect((await sendNotification(store, { ...fields, merchant_id: 'someone-else' })).status).toBe(400);
    expect((await postNotification(store, `${new URLSearchParams(signed)}&status=charged`)).status).toBe(400);
    expect((await postNotification(store, JSON.stringify(signed), 'application/json')).status).toBe(415);

    // A forged return is refused as well, and does not pay.
    const shopperReturn = signedReturn(
      store,
      { ref, transaction_id: 'pfi_forged_1', status: 'charged' },
      { secret: 'another-secret-that-is-long-enough-000' },
    );
    const owner = await newShopper();
    expect((await owner.get(shopperReturn)).status).toBe(400);
    expect((await order(ref)).status).toBe('pending');
    expect(await db().selectFrom('provider_events').select('id').where('event_id', '=', 'pfi_forged_1').executeTakeFirst()).toBeUndefined();
    expect(await db().selectFrom('customers').select('id').where('msisdn', '=', '447700900199').executeTakeFirst()).toBeUndefined();
  });

  it.skipIf(skip)('rejects a notification or a return whose timestamp is more than 300 seconds away', async () => {
    const { shopper, ref } = await pendingOrder();
    const fields = { ref, transaction_id: 'pfi_stale_1', amount_pence: await totalOf(ref), status: 'charged', msisdn: '447700900198' };
    const now = Date.now();
    expect(await sendNotification(store, fields, { now: new Date(now - 301_000) })).toEqual({ status: 400, body: 'stale-timestamp' });
    expect(await sendNotification(store, fields, { now: new Date(now + 301_000) })).toEqual({ status: 400, body: 'stale-timestamp' });
    expect(
      (
        await shopper.get(
          signedReturn(store, { ref, transaction_id: 'pfi_stale_1', status: 'cancelled' }, { now: new Date(now - 400_000) }),
        )
      ).status,
    ).toBe(400);
    expect((await order(ref)).status).toBe('pending');
    expect(await payments(ref)).toHaveLength(1);
  });

  it.skipIf(skip)('applies a replayed notification once, whatever its outcome', async () => {
    const paid = await pendingOrder();
    const visit = await payAtStandIn(paid.payUrl, { msisdn: '07700 900130' });
    await control().notificationsSettled();
    const replayed = await control().replayNotification(visit.transactionId);
    expect(replayed.replay).toBe(true);
    expect(replayed.body).toBe(control().sentNotifications(visit.transactionId)[0]!.body);
    expect(replayed.response).toEqual({ status: 200, body: 'OK' });
    expect(await events(paid.ref)).toEqual(['created', 'paid']);

    const declined = await pendingOrder();
    control().chooseOutcome('declined');
    const refused = await payAtStandIn(declined.payUrl);
    await control().notificationsSettled();
    await control().replayNotification(refused.transactionId);
    await control().replayNotification(refused.transactionId);
    await declined.shopper.get(refused.returnUrl!);
    expect(await events(declined.ref)).toEqual(['created', 'payment_declined']);
  });

  it.skipIf(skip)(
    'answers 404 for an unknown reference and records a notification with a different amount or currency without fulfilling it',
    async () => {
      expect(
        await sendNotification(store, {
          ref: 'NL-0000-0000-0000',
          transaction_id: 'pfi_unknown_ref',
          amount_pence: '100',
          status: 'charged',
          msisdn: '447700900197',
        }),
      ).toEqual({ status: 404, body: 'unknown ref' });
      expect(
        await db().selectFrom('payments').select('id').where('provider_ref', '=', 'pfi_unknown_ref').executeTakeFirst(),
      ).toBeUndefined();
      expect(await db().selectFrom('customers').select('id').where('msisdn', '=', '447700900197').executeTakeFirst()).toBeUndefined();

      const { ref } = await pendingOrder();
      const cheaper = { ref, transaction_id: 'pfi_amount_1', amount_pence: '1', status: 'charged', msisdn: '447700900196' };
      expect(await sendNotification(store, cheaper)).toEqual({ status: 200, body: 'OK' });
      expect(await sendNotification(store, cheaper)).toEqual({ status: 200, body: 'OK' });
      expect(
        await sendNotification(store, { ...cheaper, transaction_id: 'pfi_currency_1', amount_pence: await totalOf(ref), currency: 'EUR' }),
      ).toEqual({ status: 200, body: 'OK' });
      expect((await order(ref)).status).toBe('pending');
      expect(await events(ref)).toEqual(['created', 'capture_mismatch', 'capture_mismatch']);
      expect((await payments(ref)).map((p) => [p.provider_ref, p.status])).toEqual([
        ['pfi_amount_1', 'mismatch'],
        ['pfi_currency_1', 'mismatch'],
      ]);
      expect(await db().selectFrom('customers').select('id').where('msisdn', '=', '447700900196').executeTakeFirst()).toBeUndefined();
      // The same transaction for another order is refused.
      const other = await pendingOrder();
      expect((await sendNotification(store, { ...cheaper, ref: other.ref, amount_pence: await totalOf(other.ref) })).status).toBe(409);
      expect((await order(other.ref)).status).toBe('pending');
    },
  );

  it.skipIf(skip)(
    'asks the status endpoint when the shopper is back before the notification, and applies the late notification once',
    async () => {
      const { shopper, payUrl, ref } = await pendingOrder();
      control().holdNotifications();
      try {
        const visit = await payAtStandIn(payUrl, { msisdn: '07700 900131' });
        const landed = await shopper.follow(await shopper.get(visit.returnUrl!));
        expect(landed.html.querySelector('h1')!.text).toContain('paid');
        expect(control().sentNotifications(visit.transactionId)).toEqual([]);
      } finally {
        control().releaseNotifications();
      }
      await control().notificationsSettled();
      expect(await events(ref)).toEqual(['created', 'paid']);
    },
  );

  it.skipIf(skip)(
    'never shows paid for an order that is not: a signed "charged" return alone, or with the status endpoint down, leaves it pending',
    async () => {
      const { shopper, payUrl, ref } = await pendingOrder();
      // The return says charged, but the intermediary knows no such transaction.
      const claimed = await shopper.follow(
        await shopper.get(signedReturn(store, { ref, transaction_id: 'pfi_never_made', status: 'charged' })),
      );
      expect(claimed.html.querySelector('h1')!.text).toContain('confirming');
      expect((await order(ref)).status).toBe('pending');

      control().holdNotifications();
      control().failNext('status');
      let visit;
      try {
        visit = await payAtStandIn(payUrl, { msisdn: '07700 900132' });
        const back = await shopper.follow(await shopper.get(visit.returnUrl!));
        expect(back.html.querySelector('h1')!.text).toContain('confirming');
        expect((await order(ref)).status).toBe('pending');
      } finally {
        control().releaseNotifications();
      }
      await control().notificationsSettled();
      expect(await heading(shopper, ref)).toContain('paid');
      expect(await events(ref)).toEqual(['created', 'paid']);
      // A return for an order this browser did not place shows nothing.
      const stranger = await newShopper();
      expect((await stranger.get(visit.returnUrl!)).status).toBe(404);
    },
  );

  it.skipIf(skip)('applies racing notifications and returns exactly once, many times over', async () => {
    const rounds = 8;
    for (let i = 0; i < rounds; i++) {
      const outcome = i % 4 === 3 ? 'declined' : 'charged';
      const { shopper, payUrl, ref } = await pendingOrder();
      const msisdn = `4477009010${String(i).padStart(2, '0')}`;
      control().holdNotifications();
      if (outcome === 'declined') control().chooseOutcome('declined');
      const visit = await payAtStandIn(payUrl, { msisdn });
      const { returnUrl, transactionId } = visit;
      const fields = {
        ref,
        transaction_id: transactionId,
        amount_pence: await totalOf(ref),
        status: outcome,
        ...(outcome === 'charged' ? { msisdn } : {}),
      };
      // Two returns, the held notification, a copy of it and a status check, all at once.
      await Promise.all([
        shopper.get(returnUrl!),
        shopper.get(returnUrl!),
        Promise.resolve().then(() => control().releaseNotifications()),
        sendNotification(store, fields),
        store.app.methods.find((m) => m.id === 'payforit')!.check(transactionId),
      ]);
      await control().notificationsSettled();
      const expected = outcome === 'charged' ? ['created', 'paid'] : ['created', 'payment_declined'];
      expect(await events(ref), `round ${i}`).toEqual(expected);
      expect((await payments(ref)).map((p) => p.provider_ref)).toEqual([transactionId]);
      if (outcome === 'charged')
        expect(await db().selectFrom('customers').select('id').where('msisdn', '=', msisdn).execute()).toHaveLength(1);
      expect(
        control()
          .sentNotifications(transactionId)
          .every((n) => n.response?.status === 200),
      ).toBe(true);
    }
  });

  it.skipIf(skip)('records a notification that first got a 500 when it is sent again after the store restarts', async () => {
    const { shopper, payUrl, ref } = await pendingOrder();
    const schedule = control().retryDelaysMs();
    // Resends wait (an hour) until the test says so, so the restart surely falls in between.
    control().setRetryDelays(schedule.map(() => 3_600_000));
    try {
      const visit = await payAtStandIn(payUrl, { msisdn: '07700 900140', action: 'none' });
      await store.database.close(); // the store loses its database: it cannot record anything
      const returnUrl = await confirmAtStandIn(store, visit);
      const first = await waitFor('the first notification attempt', () =>
        control()
          .sentNotifications(visit.transactionId)
          .find((n) => n.response),
      );
      expect(first.attempt).toBe(1);
      expect(first.response!.status).toBe(500);
      expect(first.response!.body).not.toBe('OK');

      await store.restart();
      expect((await order(ref)).status).toBe('pending');
      // The first resend may meet a connection the restart closed; each further one is let go at once.
      const second = await waitFor('a resend answered OK', () => {
        control().resendNow();
        return control()
          .sentNotifications(visit.transactionId)
          .find((n) => n.response?.status === 200);
      });
      expect(second.attempt).toBeGreaterThan(1);
      expect(second.response!.body).toBe('OK');
      // A fresh timestamp and signature over the same fields.
      const [a, b] = [first, second].map((n) => Object.fromEntries(new URLSearchParams(n.body)));
      expect({ ...a, timestamp: '', signature: '' }).toEqual({ ...b, timestamp: '', signature: '' });
      await control().notificationsSettled();
      expect(
        control()
          .sentNotifications(visit.transactionId)
          .filter((n) => n.response?.status === 200),
      ).toHaveLength(1);
      expect(await events(ref)).toEqual(['created', 'paid']);
      // The shopper's session survived the restart too.
      expect((await shopper.follow(await shopper.get(returnUrl))).html.querySelector('h1')!.text).toContain('paid');
    } finally {
      control().setRetryDelays(schedule);
    }
  });

  it.skipIf(skip)('offers mobile billing only within the scheme maximum and says why not, and the intermediary refuses more', async () => {
    const shopper = await newShopper();
    for (const album of bigReleases) await shopper.post('/basket/add', { kind: 'release', id: String(album.id) });
    const page = await shopper.get('/checkout');
    expect(page.html.querySelector('button[value="payforit"]') === null).toBe(true);
    expect(page.html.querySelector('button[value="paypal"]') === null).toBe(false);
    const basketTotal = page.html.querySelector('.total')!.text;
    expect(page.text).toContain(`at most £10.00 in one payment, and this order comes to ${basketTotal}`);
    const before = await db()
      .selectFrom('orders')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const refused = await shopper.post('/checkout', { method: 'payforit', adult: 'yes' });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('at most £10.00');
    const after = await db()
      .selectFrom('orders')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));

    const opened = control().transactions().length;
    const tooMuch = await fetch(signedPaymentRequest(store, { ref: 'NL-TEST-OVER-MAX1', amount_pence: '1001' }), { redirect: 'manual' });
    expect(tooMuch.status).toBe(400);
    expect(await tooMuch.text()).toContain('limited to £10.00');
    const exactly = await fetch(signedPaymentRequest(store, { ref: 'NL-TEST-AT-MAX1', amount_pence: '1000' }), { redirect: 'manual' });
    expect(exactly.status).toBe(303);
    expect(control().transactions().length).toBe(opened + 1);
  });

  it.skipIf(skip)(
    'returns only to the store’s own origin: the stand-in refuses a return_url elsewhere, and the store ignores one offered to it',
    async () => {
      const opened = control().transactions().length;
      for (const elsewhere of [
        'https://evil.example/checkout/payforit/return',
        `${store.baseUrl.replace('127.0.0.1', 'localhost')}/checkout/payforit/return`,
        'javascript:alert(1)',
      ]) {
        const response = await fetch(signedPaymentRequest(store, { ref: 'NL-TEST-RETURN1', amount_pence: '500', return_url: elsewhere }), {
          redirect: 'manual',
        });
        expect(response.status, elsewhere).toBe(400);
      }
      expect(control().transactions().length).toBe(opened);

      const shopper = await newShopper();
      await fillBasket(shopper);
      const { payUrl } = await checkout(shopper, { return_url: 'https://evil.example/', returnUrl: 'https://evil.example/' });
      expect(new URL(payUrl).searchParams.get('return_url')).toBe(`${store.baseUrl}/checkout/payforit/return`);
      const method = store.app.methods.find((m) => m.id === 'payforit')!;
      const started = await method.start(
        { id: 0, reference: 'NL-TEST-ORIGIN1', totalPence: 100, currency: 'GBP', items: [{ title: 'A – B', pricePence: 100 }] },
        'https://shop.example/some/path?next=https://evil.example',
      );
      expect(new URL(started.redirectUrl).searchParams.get('return_url')).toBe('https://shop.example/checkout/payforit/return');
    },
  );

  it.skipIf(skip)('refunds through the refund endpoint once', async () => {
    const { shopper, payUrl, ref } = await pendingOrder();
    const visit = await payAtStandIn(payUrl, { msisdn: '07700 900150' });
    await shopper.get(visit.returnUrl!);
    const payment = await db().selectFrom('payments').selectAll().where('provider_ref', '=', visit.transactionId).executeTakeFirstOrThrow();
    const method = store.app.methods.find((m) => m.id === 'payforit')!;
    const amountPence = (await order(ref)).total_pence;
    await method.refund({ providerRef: payment.provider_ref, captureRef: payment.capture_ref, amountPence });
    expect((await order(ref)).status).toBe('refunded');
    // Asked again (an operator's double click): the intermediary says 409, and nothing changes.
    await method.refund({ providerRef: payment.provider_ref, captureRef: payment.capture_ref, amountPence });
    expect(
      control()
        .transactions()
        .find((t) => t.id === visit.transactionId)!.refunds,
    ).toHaveLength(1);
    expect(await events(ref)).toEqual(['created', 'paid', 'refunded']);
    // The intermediary answers a refund it cannot make with 404: the store says so.
    await expect(method.refund({ providerRef: 'pfi_nothing', captureRef: 'pfi_nothing', amountPence: 1 })).rejects.toThrow(/does not know/);
  });

  it.skipIf(skip)('signs the status query and believes only a signed status answer', async () => {
    const { payUrl, ref } = await pendingOrder();
    const visit = await payAtStandIn(payUrl, { msisdn: '07700 900160', action: 'none' });
    control().holdNotifications();
    try {
      await confirmAtStandIn(store, visit);
      const unsigned = await fetch(`${store.payforit.url}/transactions/${visit.transactionId}?merchant_id=${store.payforit.merchantId}`);
      expect(unsigned.status).toBe(401);
      const query = signParams({ merchant_id: store.payforit.merchantId }, store.payforit.secret, new Date());
      const answer = await fetch(`${store.payforit.url}/transactions/${visit.transactionId}?${new URLSearchParams(query)}`);
      const body = (await answer.json()) as Record<string, string>;
      expect(body).toMatchObject({
        ref,
        transaction_id: visit.transactionId,
        status: 'charged',
        msisdn: '447700900160',
        amount_pence: await totalOf(ref),
        currency: 'GBP',
      });
      expect(body.signature).toBe(computeSignature(body, store.payforit.secret));
    } finally {
      control().releaseNotifications();
    }
    await control().notificationsSettled();
  });
});
