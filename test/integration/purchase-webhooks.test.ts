import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from '../helpers/databases.js';
import { approvedAtPayPal } from '../helpers/purchase.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

/**
 * The capture webhook of an order the shopper's return has already settled is acknowledged
 * without asking PayPal about the order again (issue 9: one PayPal call and one transaction fewer
 * per purchase); one it has not settled still takes the full path.
 */
describe.each(databaseKinds())('PayPal capture webhooks after the return on $kind', ({ kind, skip }) => {
  let store: TestStore;
  let release: { id: number; slug: string };

  beforeAll(async () => {
    if (skip) return;
    store = await startTestStore(kind);
    release = await store.database.db.selectFrom('releases').select(['id', 'slug']).orderBy('id').executeTakeFirstOrThrow();
  });
  afterAll(async () => store?.close());

  const db = () => store.database.db;
  const orderLookups = (paypalOrderId: string) =>
    store.paypal.control.requests().filter((r) => r.method === 'GET' && r.path === `/v2/checkout/orders/${paypalOrderId}`).length;
  const paidEvents = async (paypalOrderId: string) => {
    const payment = await db()
      .selectFrom('payments')
      .select(['order_id', 'status'])
      .where('provider_ref', '=', paypalOrderId)
      .executeTakeFirstOrThrow();
    const events = await db()
      .selectFrom('order_events')
      .select('event')
      .where('order_id', '=', payment.order_id)
      .where('event', '=', 'paid')
      .execute();
    return { payment, paid: events.length };
  };
  const webhooksFor = (paypalOrderId: string, type: string) =>
    store.paypal.control
      .sentWebhooks()
      .filter((w) => w.event.event_type === type && JSON.stringify(w.event.resource).includes(paypalOrderId));

  it.skipIf(skip)('acknowledges the capture webhook of an order the return paid, without a second look-up at PayPal', async () => {
    const { shopper, paypalOrderId, returnUrl } = await approvedAtPayPal(store, 'after-return@example.com', { release });
    const back = await shopper.get(returnUrl);
    expect(back.status).toBe(303);
    await store.paypal.control.webhooksSettled();
    const delivered = webhooksFor(paypalOrderId, 'PAYMENT.CAPTURE.COMPLETED');
    expect(delivered.map((w) => w.response?.status)).toEqual([200]);
    expect(orderLookups(paypalOrderId)).toBe(0);
    expect(await paidEvents(paypalOrderId)).toEqual({ payment: expect.objectContaining({ status: 'captured' }), paid: 1 });
    // Recorded as seen: a repeat is a no-op too.
    expect(await db().selectFrom('provider_events').select('id').where('event_id', '=', delivered[0]!.event.id).execute()).toHaveLength(1);
    await store.paypal.control.replayLastWebhook();
    expect(orderLookups(paypalOrderId)).toBe(0);
    expect((await paidEvents(paypalOrderId)).paid).toBe(1);
  });

  it.skipIf(skip)('still pays from the capture webhook alone when the shopper never came back', async () => {
    const { shopper, paypalOrderId } = await approvedAtPayPal(store, 'never-back@example.com', { release });
    // Captured by the approved-order webhook; its capture webhook then finds the payment settled.
    expect((await store.paypal.control.sendWebhook('CHECKOUT.ORDER.APPROVED', paypalOrderId)).response?.status).toBe(200);
    await store.paypal.control.webhooksSettled();
    expect(await paidEvents(paypalOrderId)).toEqual({ payment: expect.objectContaining({ status: 'captured' }), paid: 1 });
    // A repeated approval event for a captured payment captures nothing more.
    const captures = () =>
      store.paypal.control.requests().filter((r) => r.method === 'POST' && r.path === `/v2/checkout/orders/${paypalOrderId}/capture`)
        .length;
    const before = captures();
    expect((await store.paypal.control.sendWebhook('CHECKOUT.ORDER.APPROVED', paypalOrderId)).response?.status).toBe(200);
    expect(captures()).toBe(before);
    const order = await shopper.follow(await shopper.get(`/checkout/paypal/return?token=${paypalOrderId}`));
    expect(order.html.querySelector('h1')!.text).toContain('paid');
    expect((await paidEvents(paypalOrderId)).paid).toBe(1);
  });
});
