import type { Kysely, Transaction } from 'kysely';
import { insertedId, isDuplicateKeyError, toDbTime } from '../db/dialect.js';
import type { AffiliateTable, CommissionStatus, Database } from '../db/schema.js';

type Tx = Transaction<Database> | Kysely<Database>;

/** The largest affiliate number the `a` parameter or cookie may carry (nine digits, no leading zero). */
export const AFFILIATE_NUMBER = /^[1-9]\d{0,8}$/;

export function parseAffiliateNumber(value: unknown): number | null {
  return typeof value === 'string' && AFFILIATE_NUMBER.test(value) ? Number(value) : null;
}

export async function findActiveAffiliate(db: Tx, id: number) {
  return db.selectFrom('affiliates').selectAll().where('id', '=', id).where('active', '=', 1).executeTakeFirst();
}

export async function findAffiliate(db: Tx, id: number) {
  return db.selectFrom('affiliates').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findAffiliateByEmail(db: Tx, email: string) {
  return db.selectFrom('affiliates').selectAll().where('email', '=', email.trim().toLowerCase()).executeTakeFirst();
}

export async function addAffiliate(
  db: Tx,
  input: { name: string; email: string; rateBasisPoints: number | null; flatPence: number | null },
  now: Date,
): Promise<number> {
  const at = toDbTime(now);
  const result = await db
    .insertInto('affiliates')
    .values({
      name: input.name,
      email: input.email.trim().toLowerCase(),
      rate_basis_points: input.rateBasisPoints,
      flat_pence: input.flatPence,
      active: 1,
      created_at: at,
      updated_at: at,
    })
    .executeTakeFirstOrThrow();
  return insertedId(result);
}

export async function setActive(db: Tx, id: number, active: boolean, now: Date): Promise<boolean> {
  const result = await db
    .updateTable('affiliates')
    .set({ active: active ? 1 : 0, updated_at: toDbTime(now) })
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function listAffiliates(db: Tx) {
  return db.selectFrom('affiliates').selectAll().orderBy('id').execute();
}

/** One more landing for the affiliate on that day and path (a count, nothing about the visitor). */
export async function countVisit(db: Kysely<Database>, affiliateId: number, day: string, path: string): Promise<void> {
  const bump = () =>
    db
      .updateTable('affiliate_visits')
      .set((eb) => ({ visits: eb('visits', '+', 1) }))
      .where('affiliate_id', '=', affiliateId)
      .where('day', '=', day)
      .where('path', '=', path)
      .executeTakeFirst();
  if (Number((await bump()).numUpdatedRows) > 0) return;
  try {
    await db.insertInto('affiliate_visits').values({ affiliate_id: affiliateId, day, path, visits: 1 }).execute();
  } catch (error) {
    // Another request inserted the row first: count on it instead.
    if (!isDuplicateKeyError(error)) throw error;
    await bump();
  }
}

/**
 * Percentage commissions round half down to whole pence: 12.5p is 12p, 12.51p is 13p.
 * A flat commission is the flat amount, never more than the order's total.
 */
export function commissionPence(totalPence: number, affiliate: Pick<AffiliateTable, 'rate_basis_points' | 'flat_pence'>): number {
  if (affiliate.flat_pence !== null) return Math.min(affiliate.flat_pence, totalPence);
  const scaled = totalPence * (affiliate.rate_basis_points ?? 0);
  const whole = Math.floor(scaled / 10_000);
  return scaled % 10_000 > 5_000 ? whole + 1 : whole;
}

export async function insertCommission(
  tx: Tx,
  row: { affiliateId: number; orderId: number; totalPence: number; amountPence: number; status: CommissionStatus; reason: string | null },
  now: string,
): Promise<void> {
  const existing = await tx.selectFrom('affiliate_commissions').select('id').where('order_id', '=', row.orderId).executeTakeFirst();
  if (existing) return;
  await tx
    .insertInto('affiliate_commissions')
    .values({
      affiliate_id: row.affiliateId,
      order_id: row.orderId,
      order_total_pence: row.totalPence,
      amount_pence: row.amountPence,
      status: row.status,
      reason: row.reason,
      payout_id: null,
      created_at: now,
      approved_at: null,
      paid_at: null,
      rejected_at: row.status === 'rejected' ? now : null,
      updated_at: now,
    })
    .execute();
}

/** A refund before payout: the commission is rejected. A commission already paid out stays paid (the operator settles it). */
export async function rejectForRefund(tx: Tx, orderId: number, now: string): Promise<void> {
  await tx
    .updateTable('affiliate_commissions')
    .set({ status: 'rejected', reason: 'refunded', rejected_at: now, updated_at: now })
    .where('order_id', '=', orderId)
    .where('status', 'in', ['pending', 'approved'])
    .execute();
}

/** Pending commissions created at or before `cutoff` become approved. */
export async function approvePendingBefore(db: Tx, cutoff: string, now: string): Promise<number> {
  const result = await db
    .updateTable('affiliate_commissions')
    .set({ status: 'approved', approved_at: now, updated_at: now })
    .where('status', '=', 'pending')
    .where('created_at', '<=', cutoff)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Records a payout of every approved commission of the affiliate; null when nothing is due. */
export async function recordPayout(
  db: Kysely<Database>,
  affiliateId: number,
  now: Date,
): Promise<{ payoutId: number; amountPence: number; count: number } | null> {
  const at = toDbTime(now);
  return db.transaction().execute(async (tx) => {
    const due = await tx
      .selectFrom('affiliate_commissions')
      .select(['id', 'amount_pence'])
      .where('affiliate_id', '=', affiliateId)
      .where('status', '=', 'approved')
      .orderBy('id')
      .execute();
    if (due.length === 0) return null;
    const amountPence = due.reduce((sum, c) => sum + c.amount_pence, 0);
    const payoutId = insertedId(
      await tx
        .insertInto('affiliate_payouts')
        .values({ affiliate_id: affiliateId, amount_pence: amountPence, commission_count: due.length, created_at: at })
        .executeTakeFirstOrThrow(),
    );
    const ids = due.map((c) => c.id);
    const moved = await tx
      .updateTable('affiliate_commissions')
      .set({ status: 'paid', paid_at: at, payout_id: payoutId, updated_at: at })
      .where('id', 'in', ids)
      .where('status', '=', 'approved')
      .executeTakeFirst();
    if (Number(moved.numUpdatedRows) !== ids.length)
      throw new Error('commissions changed while the payout was recorded; nothing was recorded, please run it again');
    return { payoutId, amountPence, count: due.length };
  });
}

export interface MonthFigures {
  month: string;
  visits: number;
  orders: number;
  /** Orders per 100 visits, or null with no visits. */
  conversionPercent: number | null;
  pence: Record<CommissionStatus, number>;
}

/** The affiliate's own figures by month, newest first. Nothing about any customer. */
export async function monthlyFigures(db: Tx, affiliateId: number): Promise<MonthFigures[]> {
  const visits = await db
    .selectFrom('affiliate_visits')
    .select(['day', (eb) => eb.fn.sum<number>('visits').as('visits')])
    .where('affiliate_id', '=', affiliateId)
    .groupBy('day')
    .execute();
  const commissions = await db
    .selectFrom('affiliate_commissions')
    .select(['created_at', 'status', 'amount_pence', 'reason'])
    .where('affiliate_id', '=', affiliateId)
    .execute();
  const months = new Map<string, MonthFigures>();
  const month = (key: string) => {
    let figures = months.get(key);
    if (!figures) {
      figures = { month: key, visits: 0, orders: 0, conversionPercent: null, pence: { pending: 0, approved: 0, paid: 0, rejected: 0 } };
      months.set(key, figures);
    }
    return figures;
  };
  for (const v of visits) month(String(v.day).slice(0, 7)).visits += Number(v.visits);
  for (const c of commissions) {
    const figures = month(String(c.created_at).slice(0, 7));
    if (c.reason !== 'self-referral') figures.orders += 1;
    figures.pence[c.status] += c.amount_pence;
  }
  return [...months.values()]
    .map((m) => ({ ...m, conversionPercent: m.visits > 0 ? Math.round((m.orders / m.visits) * 1000) / 10 : null }))
    .sort((a, b) => b.month.localeCompare(a.month));
}
