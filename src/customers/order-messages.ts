import type { Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import { queueMessage } from '../notifications/outbox.js';
import { orderNoticeEmail, orderNoticeSms } from '../notifications/templates.js';
import type { OnOrderChange } from '../orders/service.js';
import { findCustomer } from './repository.js';

export interface OrderMessageDeps {
  storeName: string;
  publicUrl: string;
  /** A payment method's id -> what it is called ("PayPal", "Mobile phone bill"). */
  methodName: (methodId: string) => string;
}

/**
 * Tells the customer, by their own channel, that their order was refunded or cancelled. A step of
 * the state change's own transaction (src/orders/service.ts), which only the caller whose
 * transition took effect runs: the operator's refund and the provider's webhook reporting the
 * same refund send one message between them. Transactional: sent whatever the marketing choice.
 *
 * Who is told: the order's customer (made on payment, so every refunded order has one); for a
 * pending order that was cancelled, the customer who was signed in when it was placed. A shopper
 * who was neither left no contact detail, and is not told (they saw the cancellation on the page,
 * or an operator cancelled an order whose payment never started).
 */
export function tellCustomer(name: 'order-refunded' | 'order-cancelled', deps: OrderMessageDeps): OnOrderChange {
  return async (tx, orderId, now) => {
    const order = await tx
      .selectFrom('orders')
      .select(['id', 'reference', 'total_pence', 'payment_method', 'customer_id', 'placed_by_customer_id'])
      .where('id', '=', orderId)
      .executeTakeFirstOrThrow();
    const customerId = order.customer_id ?? order.placed_by_customer_id;
    const customer = customerId === null ? undefined : await findCustomer(tx, customerId);
    if (!customer) return;
    const data = {
      storeName: deps.storeName,
      reference: order.reference,
      items: await orderLines(tx, order.id),
      totalPence: order.total_pence,
      methodName: deps.methodName(order.payment_method),
      storeUrl: `${deps.publicUrl}/`,
    };
    const message = customer.email
      ? { channel: 'email' as const, recipient: customer.email, ...(await orderNoticeEmail(name, data)) }
      : { channel: 'sms' as const, recipient: customer.msisdn!, ...(await orderNoticeSms(name, data)) };
    await queueMessage(tx, { ...message, kind: 'transactional', customerId: customer.id, orderId: order.id }, now);
  };
}

/** An order's lines as its messages list them. */
export function orderLines(tx: Transaction<Database>, orderId: number) {
  return tx.selectFrom('order_items').select(['title', 'price_pence']).where('order_id', '=', orderId).orderBy('id').execute();
}
