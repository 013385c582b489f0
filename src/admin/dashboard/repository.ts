/** SQL behind the dashboard. Sales are paid orders (a refunded order no longer counts), by paid_at, UTC. */
import { sql } from 'kysely';
import type { Db } from '../../db/database.js';

/** Days with sales only; the service fills the quiet days with zeros. */
export async function salesByDay(db: Db, since: string): Promise<{ day: string; orders: number; pence: number }[]> {
  // date() reads 'YYYY-MM-DD HH:MM:SS' the same way on both databases.
  const day = sql<string>`date(paid_at)`;
  const rows = await db
    .selectFrom('orders')
    .where('status', '=', 'paid')
    .where('paid_at', '>=', since)
    .select((eb) => [day.as('day'), eb.fn.countAll<number>().as('orders'), eb.fn.sum<number>('total_pence').as('pence')])
    .groupBy(day)
    .execute();
  return rows.map((r) => ({ day: String(r.day).slice(0, 10), orders: Number(r.orders), pence: Number(r.pence ?? 0) }));
}

function paidItemsSince(db: Db, since: string) {
  return db
    .selectFrom('order_items')
    .innerJoin('orders', 'orders.id', 'order_items.order_id')
    .where('orders.status', '=', 'paid')
    .where('orders.paid_at', '>=', since);
}

/** Releases bought whole (not counting single tracks), most sold first. */
export async function topReleases(db: Db, since: string, limit: number) {
  const rows = await paidItemsSince(db, since)
    .where('order_items.track_id', 'is', null)
    .innerJoin('releases', 'releases.id', 'order_items.release_id')
    .innerJoin('artists', 'artists.id', 'releases.artist_id')
    .groupBy(['releases.id', 'releases.title', 'artists.name'])
    .select((eb) => [
      'releases.id',
      'releases.title',
      'artists.name as artist',
      eb.fn.countAll<number>().as('sold'),
      eb.fn.sum<number>('order_items.price_pence').as('pence'),
    ])
    .orderBy('sold', 'desc')
    .orderBy('releases.id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ ...r, sold: Number(r.sold), pence: Number(r.pence ?? 0) }));
}

/** Tracks bought one by one, most sold first. */
export async function topTracks(db: Db, since: string, limit: number) {
  const rows = await paidItemsSince(db, since)
    .innerJoin('tracks', 'tracks.id', 'order_items.track_id')
    .innerJoin('artists', 'artists.id', 'tracks.artist_id')
    .groupBy(['tracks.id', 'tracks.title', 'artists.name'])
    .select((eb) => [
      'tracks.id',
      'tracks.title',
      'artists.name as artist',
      eb.fn.countAll<number>().as('sold'),
      eb.fn.sum<number>('order_items.price_pence').as('pence'),
    ])
    .orderBy('sold', 'desc')
    .orderBy('tracks.id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ ...r, sold: Number(r.sold), pence: Number(r.pence ?? 0) }));
}

export async function methodSplit(db: Db, since: string) {
  const rows = await db
    .selectFrom('orders')
    .where('status', '=', 'paid')
    .where('paid_at', '>=', since)
    .groupBy('payment_method')
    .select((eb) => ['payment_method as method', eb.fn.countAll<number>().as('orders'), eb.fn.sum<number>('total_pence').as('pence')])
    .orderBy('payment_method')
    .execute();
  return rows.map((r) => ({ method: r.method, orders: Number(r.orders), pence: Number(r.pence ?? 0) }));
}

/** Per affiliate since a day: landings, credited orders (a self-referral is not one), their sales and the commission owed. */
export async function affiliatePerformance(db: Db, since: string) {
  const [affiliates, visits, commissions] = await Promise.all([
    db.selectFrom('affiliates').select(['id', 'name', 'active']).orderBy('id').execute(),
    db
      .selectFrom('affiliate_visits')
      .where('day', '>=', since.slice(0, 10))
      .groupBy('affiliate_id')
      .select((eb) => ['affiliate_id', eb.fn.sum<number>('visits').as('visits')])
      .execute(),
    db
      .selectFrom('affiliate_commissions')
      .where('created_at', '>=', since)
      .where('status', '!=', 'rejected')
      .groupBy('affiliate_id')
      .select((eb) => [
        'affiliate_id',
        eb.fn.countAll<number>().as('orders'),
        eb.fn.sum<number>('order_total_pence').as('sales'),
        eb.fn.sum<number>('amount_pence').as('commission'),
      ])
      .execute(),
  ]);
  const visitsBy = new Map(visits.map((v) => [v.affiliate_id, Number(v.visits ?? 0)]));
  const salesBy = new Map(commissions.map((c) => [c.affiliate_id, c]));
  return affiliates.map((a) => {
    const c = salesBy.get(a.id);
    return {
      id: a.id,
      name: a.name,
      active: a.active === 1,
      visits: visitsBy.get(a.id) ?? 0,
      orders: Number(c?.orders ?? 0),
      salesPence: Number(c?.sales ?? 0),
      commissionPence: Number(c?.commission ?? 0),
    };
  });
}

export interface OutboxHealth {
  pending: number;
  sending: number;
  sent: number;
  failed: number;
  /** Pending after at least one failed attempt: being retried with back-off. */
  retrying: number;
  /** Created time of the oldest message still waiting, or null. */
  oldestPending: string | null;
}

export async function outboxHealth(db: Db): Promise<OutboxHealth> {
  const [byStatus, retrying, oldest] = await Promise.all([
    db
      .selectFrom('outbox')
      .groupBy('status')
      .select((eb) => ['status', eb.fn.countAll<number>().as('n')])
      .execute(),
    db
      .selectFrom('outbox')
      .where('status', '=', 'pending')
      .where('attempts', '>', 0)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow(),
    db
      .selectFrom('outbox')
      .where('status', 'in', ['pending', 'sending'])
      .select((eb) => eb.fn.min<string>('created_at').as('at'))
      .executeTakeFirst(),
  ]);
  const count = (status: string) => Number(byStatus.find((r) => r.status === status)?.n ?? 0);
  return {
    pending: count('pending'),
    sending: count('sending'),
    sent: count('sent'),
    failed: count('failed'),
    retrying: Number(retrying.n),
    oldestPending: oldest?.at ?? null,
  };
}
