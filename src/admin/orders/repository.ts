import type { Kysely, Transaction } from 'kysely';
import type { Db } from '../../db/database.js';
import type { Database, OrderStatus } from '../../db/schema.js';

type Tx = Transaction<Database> | Kysely<Database>;

export interface OrderFilter {
  status?: OrderStatus;
  method?: string;
  /** Affiliate number. */
  affiliate?: number;
  /** UTC days, inclusive, on the time the order was placed: 'YYYY-MM-DD'. */
  from?: string;
  to?: string;
  /** The whole reference or its beginning, upper case ('NL-7K2M'): letters, digits and '-' only, so no LIKE wildcards. */
  reference?: string;
}

/** The day after a 'YYYY-MM-DD' day, as the same kind of string. */
function nextDay(day: string): string {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + 1);
  return date.toISOString().slice(0, 10);
}

/**
 * Orders matching the filter, newest first, read from the `order_overview` view: the admin list
 * and its CSV show exactly what an operator sees in a SQL client.
 */
function filtered(db: Tx, filter: OrderFilter) {
  let query = db.selectFrom('order_overview');
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.method) query = query.where('payment_method', '=', filter.method);
  if (filter.affiliate !== undefined) query = query.where('affiliate_id', '=', filter.affiliate);
  if (filter.from) query = query.where('created_at', '>=', `${filter.from} 00:00:00`);
  if (filter.to) query = query.where('created_at', '<', `${nextDay(filter.to)} 00:00:00`);
  if (filter.reference) query = query.where('reference', 'like', `${filter.reference}%`);
  return query;
}

export async function findOrders(db: Tx, filter: OrderFilter, page: { limit: number; offset: number }) {
  return filtered(db, filter)
    .selectAll()
    .orderBy('created_at', 'desc')
    .orderBy('reference')
    .limit(page.limit)
    .offset(page.offset)
    .execute();
}

export async function countOrders(db: Tx, filter: OrderFilter): Promise<number> {
  const row = await filtered(db, filter)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export type OrderListRow = Awaited<ReturnType<typeof findOrders>>[number];

/** Everything about one order an operator needs to answer a customer or the accountant. */
export async function orderDetail(db: Db, reference: string) {
  const order = await db
    .selectFrom('orders as o')
    .leftJoin('customers as c', 'c.id', 'o.customer_id')
    .leftJoin('affiliates as a', 'a.id', 'o.affiliate_id')
    .select([
      'o.id',
      'o.reference',
      'o.status',
      'o.total_pence',
      'o.currency',
      'o.payment_method',
      'o.affiliate_id',
      'a.name as affiliate_name',
      'o.customer_id',
      'c.email',
      'c.msisdn',
      'o.created_at',
      'o.paid_at',
      'o.expires_at',
      'o.updated_at',
      'o.marketing_opt_in',
    ])
    .where('o.reference', '=', reference)
    .executeTakeFirst();
  if (!order) return undefined;
  const [items, payments, events, messages, commission, entitlements] = await Promise.all([
    db
      .selectFrom('order_items')
      .select(['title', 'price_pence', 'track_id', 'release_id'])
      .where('order_id', '=', order.id)
      .orderBy('id')
      .execute(),
    db
      .selectFrom('payments')
      .select(['id', 'method', 'provider_ref', 'capture_ref', 'status', 'amount_pence', 'currency', 'created_at', 'updated_at'])
      .where('order_id', '=', order.id)
      .orderBy('id')
      .execute(),
    db
      .selectFrom('order_events')
      .select(['from_status', 'to_status', 'event', 'detail', 'created_at'])
      .where('order_id', '=', order.id)
      .orderBy('id')
      .execute(),
    db
      .selectFrom('outbox')
      .select(['id', 'channel', 'kind', 'subject', 'status', 'attempts', 'created_at', 'sent_at', 'last_error'])
      .where('order_id', '=', order.id)
      .orderBy('id')
      .execute(),
    db
      .selectFrom('affiliate_commissions')
      .select(['amount_pence', 'status', 'reason', 'created_at', 'approved_at', 'paid_at', 'rejected_at'])
      .where('order_id', '=', order.id)
      .executeTakeFirst(),
    db
      .selectFrom('entitlements')
      .select([(eb) => eb.fn.countAll<number>().as('total'), (eb) => eb.fn.count<number>('revoked_at').as('revoked')])
      .where('order_id', '=', order.id)
      .executeTakeFirstOrThrow(),
  ]);
  return {
    order,
    items,
    payments,
    events,
    messages,
    commission,
    entitlements: { total: Number(entitlements.total), revoked: Number(entitlements.revoked) },
  };
}

export type OrderDetail = NonNullable<Awaited<ReturnType<typeof orderDetail>>>;

/** The payment that paid the order: its first captured attempt at the order's own method. */
export async function payingPayment(db: Tx, orderId: number) {
  return db
    .selectFrom('payments')
    .selectAll()
    .where('order_id', '=', orderId)
    .where('status', '=', 'captured')
    .where('capture_ref', 'is not', null)
    .orderBy('id')
    .executeTakeFirst();
}

export async function findOrderForAction(db: Tx, reference: string) {
  return db
    .selectFrom('orders')
    .select(['id', 'reference', 'status', 'total_pence', 'customer_id', 'payment_method'])
    .where('reference', '=', reference)
    .executeTakeFirst();
}
