import { sql, type Transaction } from 'kysely';
import type { Db } from '../db/database.js';
import { insertedId, isDuplicateKeyError, lockingRead } from '../db/dialect.js';
import type { Database, OrderStatus, PaymentStatus } from '../db/schema.js';
import { statesThatCanBecome } from './states.js';

type Tx = Transaction<Database> | Db;

export interface NewOrder {
  reference: string;
  totalPence: number;
  paymentMethod: string;
  affiliateId: number | null;
  ageConfirmedAt: string;
  marketingOptIn: boolean;
  vatBasisPoints: number;
  /** The customer signed in at checkout, if any (who hears of the order before payment names its customer). */
  placedByCustomerId: number | null;
  expiresAt: string;
  items: { releaseId: number; trackId: number | null; title: string; pricePence: number }[];
}

/** SQL for orders, their items, events and payment attempts. */
export async function insertOrder(tx: Transaction<Database>, order: NewOrder, now: string): Promise<number> {
  const id = insertedId(
    await tx
      .insertInto('orders')
      .values({
        reference: order.reference,
        status: 'pending',
        total_pence: order.totalPence,
        currency: 'GBP',
        payment_method: order.paymentMethod,
        affiliate_id: order.affiliateId,
        customer_id: null,
        placed_by_customer_id: order.placedByCustomerId,
        age_confirmed_at: order.ageConfirmedAt,
        marketing_opt_in: order.marketingOptIn ? 1 : 0,
        vat_basis_points: order.vatBasisPoints,
        created_at: now,
        expires_at: order.expiresAt,
        paid_at: null,
        updated_at: now,
      })
      .executeTakeFirstOrThrow(),
  );
  await tx
    .insertInto('order_items')
    .values(
      order.items.map((i) => ({ order_id: id, release_id: i.releaseId, track_id: i.trackId, title: i.title, price_pence: i.pricePence })),
    )
    .execute();
  await addEvent(
    tx,
    id,
    null,
    'pending',
    'created',
    `${order.items.length} item${order.items.length === 1 ? '' : 's'}, ${order.paymentMethod}`,
    now,
  );
  return id;
}

export async function findOrderByReference(db: Tx, reference: string) {
  return db.selectFrom('orders').selectAll().where('reference', '=', reference).executeTakeFirst();
}

export async function lockOrder(tx: Transaction<Database>, id: number) {
  return lockingRead(tx, tx.selectFrom('orders').selectAll().where('id', '=', id)).executeTakeFirstOrThrow();
}

export async function orderItems(db: Tx, orderId: number) {
  return db
    .selectFrom('order_items')
    .select(['release_id', 'track_id', 'title', 'price_pence'])
    .where('order_id', '=', orderId)
    .orderBy('id')
    .execute();
}

/**
 * Fixes on each line the label its release has now, in the paying transaction: a sale belongs to
 * the label of the moment it was paid, whatever label the release moves to later (statements).
 */
export async function fixItemLabels(tx: Tx, orderId: number): Promise<void> {
  await tx
    .updateTable('order_items')
    .set({ label_id: sql<number | null>`(select releases.label_id from releases where releases.id = order_items.release_id)` })
    .where('order_id', '=', orderId)
    .execute();
}

export async function orderEvents(db: Tx, orderId: number) {
  return db
    .selectFrom('order_events')
    .select(['from_status', 'to_status', 'event', 'detail', 'created_at'])
    .where('order_id', '=', orderId)
    .orderBy('id')
    .execute();
}

export async function addEvent(
  tx: Tx,
  orderId: number,
  from: OrderStatus | null,
  to: OrderStatus,
  event: string,
  detail: string | null,
  now: string,
) {
  await tx
    .insertInto('order_events')
    .values({ order_id: orderId, from_status: from, to_status: to, event, detail: detail?.slice(0, 255) ?? null, created_at: now })
    .execute();
}

/**
 * Moves an order to `to` only from a state allowed to reach it, as one conditional UPDATE: of two
 * racing callers exactly one sees `true`, and only that one records the event.
 */
export async function transition(
  tx: Tx,
  orderId: number,
  to: OrderStatus,
  event: string,
  detail: string | null,
  now: string,
  extra: { paid_at?: string; customer_id?: number; country_code?: string | null } = {},
  /** The status the caller read under lockOrder in this transaction: no need to read it again. */
  lockedFrom?: OrderStatus,
): Promise<boolean> {
  const from = lockedFrom ?? (await tx.selectFrom('orders').select('status').where('id', '=', orderId).executeTakeFirstOrThrow()).status;
  const result = await tx
    .updateTable('orders')
    .set({ status: to, updated_at: now, ...extra })
    .where('id', '=', orderId)
    .where('status', 'in', statesThatCanBecome(to))
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1) return false;
  await addEvent(tx, orderId, from, to, event, detail, now);
  return true;
}

export async function expiredPendingOrders(db: Db, now: string, limit: number) {
  return db.selectFrom('orders').select('id').where('status', '=', 'pending').where('expires_at', '<', now).limit(limit).execute();
}

export async function insertPayment(db: Tx, orderId: number, method: string, providerRef: string, now: string): Promise<void> {
  try {
    await db
      .insertInto('payments')
      .values({
        order_id: orderId,
        method,
        provider_ref: providerRef,
        capture_ref: null,
        status: 'created',
        amount_pence: null,
        currency: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
  } catch (error) {
    // A retried create at the provider returns the same id: the attempt is already recorded.
    if (!isDuplicateKeyError(error)) throw error;
  }
}

export async function findPayment(db: Tx, method: string, providerRef: string) {
  return db.selectFrom('payments').selectAll().where('method', '=', method).where('provider_ref', '=', providerRef).executeTakeFirst();
}

/** A payment attempt with the few fields of its order that the return and cancel pages need, in one query. */
export async function findPaymentWithOrder(db: Tx, method: string, providerRef: string) {
  return db
    .selectFrom('payments')
    .innerJoin('orders', 'orders.id', 'payments.order_id')
    .select(['payments.provider_ref', 'orders.id as order_id', 'orders.reference', 'orders.status'])
    .where('payments.method', '=', method)
    .where('payments.provider_ref', '=', providerRef)
    .executeTakeFirst();
}

/** The payment attempt, read as committed now and held until the transaction ends (MySQL). */
/** The payment attempt, locked until the caller's transaction ends; outside a transaction, read once the lock is free (MySQL). */
export async function lockPayment(tx: Tx, method: string, providerRef: string) {
  return lockingRead(
    tx,
    tx.selectFrom('payments').selectAll().where('method', '=', method).where('provider_ref', '=', providerRef),
  ).executeTakeFirst();
}

export async function findPaymentByCapture(db: Tx, method: string, captureRef: string) {
  return db.selectFrom('payments').selectAll().where('method', '=', method).where('capture_ref', '=', captureRef).executeTakeFirst();
}

export async function latestPayment(db: Tx, orderId: number) {
  return db.selectFrom('payments').selectAll().where('order_id', '=', orderId).orderBy('id', 'desc').executeTakeFirst();
}

export async function updatePayment(
  db: Tx,
  id: number,
  fields: { status: PaymentStatus; capture_ref?: string; amount_pence?: number; currency?: string },
  now: string,
) {
  await db
    .updateTable('payments')
    .set({ ...fields, updated_at: now })
    .where('id', '=', id)
    .execute();
}

/** Records a provider notification; false when it was already recorded (a repeat). */
export async function recordProviderEvent(db: Tx, provider: string, eventId: string, eventType: string, now: string): Promise<boolean> {
  try {
    await db
      .insertInto('provider_events')
      .values({ provider, event_id: eventId.slice(0, 100), event_type: eventType.slice(0, 60), received_at: now })
      .execute();
    return true;
  } catch (error) {
    if (isDuplicateKeyError(error)) return false;
    throw error;
  }
}

export async function providerEventSeen(db: Tx, provider: string, eventId: string): Promise<boolean> {
  return !!(await db
    .selectFrom('provider_events')
    .select('id')
    .where('provider', '=', provider)
    .where('event_id', '=', eventId)
    .executeTakeFirst());
}

export async function customerContact(db: Tx, customerId: number | null) {
  if (customerId === null) return undefined;
  return db.selectFrom('customers').select(['email', 'msisdn']).where('id', '=', customerId).executeTakeFirst();
}

export async function findOrderById(db: Tx, id: number) {
  return db.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}
