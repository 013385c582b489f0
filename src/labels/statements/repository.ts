/**
 * SQL for statements and the VAT summary: every order line sold, and every order line refunded,
 * in a period. Read from orders, order_items and order_events; no total is ever stored.
 * A refund is dated by the event that moved its order from paid to refunded. Each line belongs to
 * the label it was sold for (order_items.label_id, fixed when paid), not the release's label today.
 */
import { sql } from 'kysely';
import type { Db } from '../../db/database.js';

export interface SoldLine {
  kind: 'sale' | 'refund';
  order_id: number;
  /** When the order was paid: the royalty rate in force then is the one its lines (and their refunds) are paid at. */
  paid_at: string | null;
  /** The release's label when the order was paid: a refund follows its sale to it. */
  label_id: number | null;
  release_id: number;
  track_id: number | null;
  price_pence: number;
  vat_basis_points: number;
  country_code: string | null;
  payment_method: string;
  title: string;
  artist: string;
  isrc: string | null;
  icpn: string | null;
  catalogue_number: string | null;
}

/** [from, to) as database times: 'YYYY-MM-01 00:00:00' to the next month's first second. */
export interface Period {
  from: string;
  to: string;
}

function linesOf(db: Db) {
  return db
    .selectFrom('order_items')
    .innerJoin('orders', 'orders.id', 'order_items.order_id')
    .innerJoin('releases', 'releases.id', 'order_items.release_id')
    .innerJoin('artists as release_artist', 'release_artist.id', 'releases.artist_id')
    .leftJoin('tracks', 'tracks.id', 'order_items.track_id')
    .leftJoin('artists as track_artist', 'track_artist.id', 'tracks.artist_id')
    .select([
      'order_items.order_id',
      'orders.paid_at',
      // The label the line was sold for (fixed when its order was paid), not the release's label today.
      'order_items.label_id',
      'order_items.release_id',
      'order_items.track_id',
      'order_items.price_pence',
      'orders.vat_basis_points',
      'orders.country_code',
      'orders.payment_method',
      sql<string>`coalesce(tracks.title, releases.title)`.as('title'),
      sql<string>`coalesce(track_artist.name, release_artist.name)`.as('artist'),
      'tracks.isrc',
      'releases.icpn',
      'releases.catalogue_number',
    ])
    .orderBy('order_items.id');
}

/** Lines of orders paid in the period (a refunded order was a sale too), and lines of orders refunded in it. */
export async function linesInPeriod(db: Db, period: Period): Promise<SoldLine[]> {
  const refundedAt = db
    .selectFrom('order_events')
    .where('to_status', '=', 'refunded')
    .where('from_status', '=', 'paid')
    .groupBy('order_id')
    .select(['order_id', (eb) => eb.fn.min('created_at').as('refunded_at')]);
  const [sold, refunded] = await Promise.all([
    linesOf(db)
      .where('orders.status', 'in', ['paid', 'refunded'])
      .where('orders.paid_at', '>=', period.from)
      .where('orders.paid_at', '<', period.to)
      .execute(),
    linesOf(db)
      .innerJoin(refundedAt.as('refund'), 'refund.order_id', 'orders.id')
      .where('orders.status', '=', 'refunded')
      .where('refund.refunded_at', '>=', period.from)
      .where('refund.refunded_at', '<', period.to)
      .execute(),
  ]);
  return [...sold.map((l) => ({ ...l, kind: 'sale' as const })), ...refunded.map((l) => ({ ...l, kind: 'refund' as const }))];
}

/** What the orders themselves say was taken and given back in the period: the figures statements must reconcile to. */
export async function orderTotalsInPeriod(db: Db, period: Period): Promise<{ salesPence: number; refundsPence: number }> {
  const sales = await db
    .selectFrom('orders')
    .where('status', 'in', ['paid', 'refunded'])
    .where('paid_at', '>=', period.from)
    .where('paid_at', '<', period.to)
    .select((eb) => eb.fn.sum<number>('total_pence').as('pence'))
    .executeTakeFirstOrThrow();
  const refunds = await db
    .selectFrom('orders')
    .where('status', '=', 'refunded')
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('order_events')
          .whereRef('order_events.order_id', '=', 'orders.id')
          .where('order_events.from_status', '=', 'paid')
          .where('order_events.to_status', '=', 'refunded')
          .where('order_events.created_at', '>=', period.from)
          .where('order_events.created_at', '<', period.to)
          .select('order_events.id'),
      ),
    )
    .select((eb) => eb.fn.sum<number>('total_pence').as('pence'))
    .executeTakeFirstOrThrow();
  return { salesPence: Number(sales.pence ?? 0), refundsPence: Number(refunds.pence ?? 0) };
}

/** Every rate the labels have had, oldest first (label_royalty_rates). */
export async function rateHistories(db: Db, labelIds: number[]) {
  if (labelIds.length === 0) return [];
  return db
    .selectFrom('label_royalty_rates')
    .select(['label_id', 'royalty_basis_points', 'effective_from'])
    .where('label_id', 'in', labelIds)
    .orderBy('effective_from')
    .orderBy('id')
    .execute();
}

export async function labelsByIds(db: Db, ids: number[]) {
  if (ids.length === 0) return [];
  return db.selectFrom('labels').selectAll().where('id', 'in', ids).execute();
}
