import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPayPalClient } from '../../src/payments/paypal/client.js';
import { signInAsOperator } from '../helpers/admin.js';
import { databaseKinds } from '../helpers/databases.js';
import { payAtStandIn } from '../helpers/payforit.js';
import { approvedAtPayPal, buyWithPayPal } from '../helpers/purchase.js';
import { Shopper } from '../helpers/shopper.js';
import { signInCustomer } from '../helpers/sign-in.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

/**
 * A refund (the operator's, or one only a provider's notification reports) and a cancelled pending
 * order each tell the customer once, by their own channel, as a transactional message
 * (src/customers/order-messages.ts), whatever their marketing choice.
 */
describe.each(databaseKinds())('refund and cancellation messages on $kind', ({ kind, skip }) => {
  let store: TestStore;
  let release: { id: number; slug: string };

  beforeAll(async () => {
    if (skip) return;
    store = await startTestStore(kind, { env: { SIGN_IN_LIMIT_PER_CLIENT: '1000' } });
    release = await store.database.db.selectFrom('releases').select(['id', 'slug']).orderBy('id').executeTakeFirstOrThrow();
  });
  afterAll(async () => store?.close());

  const db = () => store.database.db;
  const messagesAbout = async (reference: string, words: string) => {
    const order = await db().selectFrom('orders').select('id').where('reference', '=', reference).executeTakeFirstOrThrow();
    return (await db().selectFrom('outbox').selectAll().where('order_id', '=', order.id).orderBy('id').execute()).filter((m) =>
      m.body_text.includes(words),
    );
  };
  const paymentOf = async (reference: string) => {
    const order = await db().selectFrom('orders').selectAll().where('reference', '=', reference).executeTakeFirstOrThrow();
    const payment = await db()
      .selectFrom('payments')
      .selectAll()
      .where('order_id', '=', order.id)
      .where('status', '=', 'captured')
      .executeTakeFirstOrThrow();
    return { order, payment };
  };
  const referenceOf = (page: { html: { querySelector(s: string): { text: string } | null } }) =>
    page.html.querySelector('.order-status strong')!.text;

  it.skipIf(skip)('tells a PayPal customer once when the operator refunds and the webhook reports the same refund', async () => {
    const { orderPage, shopper } = await buyWithPayPal(store, 'refund-twice@example.com', { release });
    const reference = referenceOf(orderPage);
    const paypalOrderId = (await paymentOf(reference)).payment.provider_ref;
    const operator = await signInAsOperator(store);
    await operator.get(`/admin/orders/${reference}`);
    expect((await operator.post(`/admin/orders/${reference}/refund`, { confirm: 'yes' })).status).toBe(303);
    const delivered = await store.paypal.control.sendWebhook('PAYMENT.CAPTURE.REFUNDED', paypalOrderId);
    expect(delivered.response?.status).toBe(200);

    const told = await messagesAbout(reference, 'is refunded');
    expect(told).toHaveLength(1);
    expect(told[0]).toMatchObject({ channel: 'email', recipient: 'refund-twice@example.com', kind: 'transactional', status: 'pending' });
    expect(told[0]!.subject).toContain('refunded');
    expect(told[0]!.body_text).toContain('PayPal');
    // The customer never opted in to marketing: a transactional message goes regardless.
    expect(
      await db()
        .selectFrom('customers')
        .select('marketing_opt_in')
        .where('email', '=', 'refund-twice@example.com')
        .executeTakeFirstOrThrow(),
    ).toEqual({ marketing_opt_in: 0 });
    expect((await shopper.get(`/orders/${reference}`)).html.querySelector('h1')!.text).toContain('refunded');
  });

  it.skipIf(skip)("tells the customer when only PayPal's notification reports a refund made at PayPal", async () => {
    const { orderPage } = await buyWithPayPal(store, 'refund-at-paypal@example.com', { release });
    const reference = referenceOf(orderPage);
    const { order, payment } = await paymentOf(reference);
    // A refund made in PayPal's own dashboard: the store hears of it only by webhook.
    const client = createPayPalClient({ baseUrl: store.paypal.url, clientId: 'test-client', clientSecret: 'test-secret' });
    await client.refundCapture(
      payment.capture_ref!,
      { currency_code: 'GBP', value: (order.total_pence / 100).toFixed(2) },
      `dashboard-${payment.capture_ref}`,
    );
    expect(await messagesAbout(reference, 'is refunded')).toHaveLength(0);
    await store.paypal.control.sendWebhook('PAYMENT.CAPTURE.REFUNDED', payment.provider_ref);
    await store.paypal.control.replayLastWebhook();
    expect((await db().selectFrom('orders').select('status').where('id', '=', order.id).executeTakeFirstOrThrow()).status).toBe('refunded');
    expect(await messagesAbout(reference, 'is refunded')).toHaveLength(1);
  });

  it.skipIf(skip)('texts a mobile customer once when the operator refunds, in one SMS', async () => {
    const shopper = new Shopper(store.baseUrl);
    await shopper.get(`/release/${release.slug}`);
    await shopper.post('/basket/add', { kind: 'release', id: String(release.id) });
    await shopper.get('/checkout');
    const pay = await shopper.post('/checkout', { method: 'payforit', adult: 'yes' });
    const reference = new URL(pay.location!).searchParams.get('ref')!;
    const visit = await payAtStandIn(pay.location!, { msisdn: '07700 900777' });
    await shopper.follow(await shopper.get(visit.returnUrl!.replace(store.baseUrl, '')));
    const operator = await signInAsOperator(store);
    await operator.get(`/admin/orders/${reference}`);
    expect((await operator.post(`/admin/orders/${reference}/refund`, { confirm: 'yes' })).status).toBe(303);
    await operator.post(`/admin/orders/${reference}/refund`, { confirm: 'yes' });

    const told = await messagesAbout(reference, 'is refunded');
    expect(told).toHaveLength(1);
    expect(told[0]).toMatchObject({ channel: 'sms', recipient: '+447700900777', kind: 'transactional' });
    expect(told[0]!.body_text).toContain('phone bill');
    expect(told[0]!.body_text.length).toBeLessThanOrEqual(160);
  });

  it.skipIf(skip)(
    'tells a customer who was signed in at checkout that their pending order was cancelled, once; a shopper who left no contact is not told',
    async () => {
      await buyWithPayPal(store, 'regular@example.com', { release });
      const { shopper } = await signInCustomer(store, 'regular@example.com');
      const { paypalOrderId } = await approvedAtPayPal(store, 'regular@example.com', { release, shopper });
      const cancelled = await shopper.follow(await shopper.get(`/checkout/paypal/cancel?token=${paypalOrderId}`));
      const reference = cancelled.html.querySelector('h2')!.text.replace('Order ', '');
      expect(cancelled.html.querySelector('h1')!.text).toBe('Payment cancelled');
      await shopper.get(`/checkout/paypal/cancel?token=${paypalOrderId}`);
      const told = await messagesAbout(reference, 'was cancelled before it was paid');
      expect(told).toHaveLength(1);
      expect(told[0]).toMatchObject({ channel: 'email', recipient: 'regular@example.com', kind: 'transactional' });
      const notes = cancelled.html
        .querySelectorAll('.note')
        .map((note) => note.text)
        .join(' ');
      expect(notes).toContain('Payment method: PayPal');
      expect(notes).not.toContain('Paid');

      // An operator's cancel of such an order tells them too.
      const pending = await approvedAtPayPal(store, 'regular@example.com', { release, shopper });
      const operatorReference = (
        await db()
          .selectFrom('payments')
          .innerJoin('orders', 'orders.id', 'payments.order_id')
          .select('orders.reference')
          .where('payments.provider_ref', '=', pending.paypalOrderId)
          .executeTakeFirstOrThrow()
      ).reference;
      const operator = await signInAsOperator(store);
      await operator.get(`/admin/orders/${operatorReference}`);
      expect((await operator.post(`/admin/orders/${operatorReference}/cancel`, { confirm: 'yes' })).status).toBe(303);
      expect(await messagesAbout(operatorReference, 'was cancelled before it was paid')).toHaveLength(1);

      // Not signed in: no contact detail is known before payment, so there is nobody to tell.
      const anonymous = await approvedAtPayPal(store, 'stranger@example.com', { release });
      const page = await anonymous.shopper.follow(await anonymous.shopper.get(`/checkout/paypal/cancel?token=${anonymous.paypalOrderId}`));
      const anonymousReference = page.html.querySelector('h2')!.text.replace('Order ', '');
      expect(
        (await db().selectFrom('orders').select('status').where('reference', '=', anonymousReference).executeTakeFirstOrThrow()).status,
      ).toBe('cancelled');
      expect(await messagesAbout(anonymousReference, 'cancelled')).toHaveLength(0);
    },
  );
});
