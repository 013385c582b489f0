import type { Db } from '../../db/database.js';
import { isDuplicateKeyError } from '../../db/dialect.js';

/**
 * SQL of mobile-billing attempts. The payment request carries only the order reference, so the
 * attempt recorded at checkout waits under a placeholder provider_ref until the intermediary
 * names its transaction; this gives it that name. A conditional UPDATE: of two callers racing to
 * name it, one wins and the other finds the row by the transaction id.
 */
export async function nameAttempt(
  db: Db,
  orderId: number,
  method: string,
  placeholder: string,
  transactionId: string,
  now: string,
): Promise<boolean> {
  try {
    const result = await db
      .updateTable('payments')
      .set({ provider_ref: transactionId, updated_at: now })
      .where('order_id', '=', orderId)
      .where('method', '=', method)
      .where('provider_ref', '=', placeholder)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  } catch (error) {
    // The transaction already has a row of its own: leave the placeholder for another attempt.
    if (isDuplicateKeyError(error)) return false;
    throw error;
  }
}
