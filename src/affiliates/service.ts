import type { Kysely, Transaction } from 'kysely';
import type { AffiliateSettings } from '../config.js';
import { toDbTime } from '../db/dialect.js';
import type { Database } from '../db/schema.js';
import type { OnPaid } from '../orders/service.js';
import * as repo from './repository.js';

/**
 * Commissions: one per paid order credited to an affiliate, created in the paying transaction,
 * approved after the hold, paid when the operator records a payout, rejected on a refund before that.
 */
export function createAffiliatesService({ db, settings, clock }: { db: Kysely<Database>; settings: AffiliateSettings; clock: () => Date }) {
  /** Known and active now: what checkout credits an order to. */
  async function activeAffiliate(id: number | null): Promise<number | null> {
    if (id === null) return null;
    return (await repo.findActiveAffiliate(db, id)) ? id : null;
  }

  /** The onPaid step. An affiliate paying through their own link earns nothing: a rejected row, reason 'self-referral', 0 pence. */
  const creditOrder: OnPaid = async (tx, order, customerId, now) => {
    if (order.affiliate_id === null) return;
    const affiliate = await repo.findAffiliate(tx, order.affiliate_id);
    if (!affiliate) return;
    const customer = await tx.selectFrom('customers').select('email').where('id', '=', customerId).executeTakeFirst();
    const selfReferral = customer?.email != null && customer.email.toLowerCase() === affiliate.email.toLowerCase();
    await repo.insertCommission(
      tx,
      {
        affiliateId: affiliate.id,
        orderId: order.id,
        totalPence: order.total_pence,
        amountPence: selfReferral ? 0 : repo.commissionPence(order.total_pence, affiliate),
        status: selfReferral ? 'rejected' : 'pending',
        reason: selfReferral ? 'self-referral' : null,
      },
      now,
    );
  };

  const rejectOnRefund = (tx: Transaction<Database>, orderId: number, now: string) => repo.rejectForRefund(tx, orderId, now);

  /** Pending commissions older than the hold become approved; returns how many. */
  async function approveDueCommissions(now: Date = clock()): Promise<number> {
    const cutoff = toDbTime(new Date(now.getTime() - settings.holdDays * 24 * 3600_000));
    return repo.approvePendingBefore(db, cutoff, toDbTime(now));
  }

  return { activeAffiliate, creditOrder, rejectOnRefund, approveDueCommissions };
}

export type AffiliatesService = ReturnType<typeof createAffiliatesService>;
