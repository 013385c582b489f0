/** SQL the affiliate pages add to src/affiliates/repository.ts: the rate, and the figures by status. */
import type { Transaction } from 'kysely';
import type { Db } from '../../db/database.js';
import { toDbTime } from '../../db/dialect.js';
import type { CommissionStatus, Database } from '../../db/schema.js';

type Tx = Transaction<Database> | Db;

export type Rate = { rateBasisPoints: number; flatPence: null } | { rateBasisPoints: null; flatPence: number };

/** New orders earn at the new rate; commissions already written keep their amount. */
export async function setRate(tx: Tx, id: number, rate: Rate, now: Date): Promise<boolean> {
  const result = await tx
    .updateTable('affiliates')
    .set({ rate_basis_points: rate.rateBasisPoints, flat_pence: rate.flatPence, updated_at: toDbTime(now) })
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export type StatusFigures = Record<CommissionStatus, { count: number; pence: number }>;

const emptyFigures = (): StatusFigures => ({
  pending: { count: 0, pence: 0 },
  approved: { count: 0, pence: 0 },
  paid: { count: 0, pence: 0 },
  rejected: { count: 0, pence: 0 },
});

/** Every affiliate's commissions (or one affiliate's), counted and summed by status. */
export async function commissionsByStatus(db: Db, affiliateId?: number): Promise<Map<number, StatusFigures>> {
  let query = db.selectFrom('affiliate_commissions');
  if (affiliateId !== undefined) query = query.where('affiliate_id', '=', affiliateId);
  const rows = await query
    .groupBy(['affiliate_id', 'status'])
    .select((eb) => ['affiliate_id', 'status', eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('amount_pence').as('pence')])
    .execute();
  const figures = new Map<number, StatusFigures>();
  for (const r of rows) {
    const f = figures.get(r.affiliate_id) ?? emptyFigures();
    f[r.status] = { count: Number(r.n), pence: Number(r.pence ?? 0) };
    figures.set(r.affiliate_id, f);
  }
  return figures;
}

export function figuresOf(map: Map<number, StatusFigures>, id: number): StatusFigures {
  return map.get(id) ?? emptyFigures();
}

export async function payoutsOf(db: Db, affiliateId: number) {
  return db.selectFrom('affiliate_payouts').selectAll().where('affiliate_id', '=', affiliateId).orderBy('id', 'desc').limit(100).execute();
}

/** The affiliate's latest commissions with their order's reference (no customer detail). */
export async function recentCommissions(db: Db, affiliateId: number) {
  return db
    .selectFrom('affiliate_commissions')
    .innerJoin('orders', 'orders.id', 'affiliate_commissions.order_id')
    .select([
      'affiliate_commissions.id',
      'orders.reference',
      'affiliate_commissions.order_total_pence',
      'affiliate_commissions.amount_pence',
      'affiliate_commissions.status',
      'affiliate_commissions.reason',
      'affiliate_commissions.created_at',
      'affiliate_commissions.payout_id',
    ])
    .where('affiliate_commissions.affiliate_id', '=', affiliateId)
    .orderBy('affiliate_commissions.id', 'desc')
    .limit(100)
    .execute();
}
