/** The outbox as the operator sees it, and putting a failed message back in the queue. */
import type { Db } from '../../db/database.js';
import { toDbTime } from '../../db/dialect.js';
import { fetchPage } from '../../db/paging.js';
import type { OutboxStatus, Database } from '../../db/schema.js';
import type { Transaction } from 'kysely';
import { ERASED } from '../../privacy/data-rights.js';
import { REMOVED_SECRET } from '../../notifications/outbox.js';

export const MESSAGES_PAGE_SIZE = 50;
export const OUTBOX_STATUSES = ['pending', 'sending', 'sent', 'failed'] as const;

export async function listMessages(db: Db, filter: { status?: OutboxStatus; page: number }) {
  let query = db
    .selectFrom('outbox')
    .select([
      'id',
      'channel',
      'kind',
      'recipient',
      'subject',
      'status',
      'attempts',
      'next_attempt_at',
      'last_error',
      'created_at',
      'sent_at',
      'order_id',
    ]);
  if (filter.status) query = query.where('status', '=', filter.status);
  return fetchPage(query.orderBy('id', 'desc'), filter.page, MESSAGES_PAGE_SIZE);
}

export async function statusCounts(db: Db): Promise<Record<OutboxStatus, number>> {
  const rows = await db
    .selectFrom('outbox')
    .groupBy('status')
    .select((eb) => ['status', eb.fn.countAll<number>().as('n')])
    .execute();
  const counts = { pending: 0, sending: 0, sent: 0, failed: 0 };
  for (const r of rows) counts[r.status] = Number(r.n);
  return counts;
}

/**
 * A failed message goes back to the queue with a fresh set of attempts, due now. Only a failed
 * one (never a message being sent or already sent), never one whose recipient was erased, and
 * never one whose sign-in code or link was removed when it failed (it would send the placeholder:
 * an order's confirmation is sent again with a fresh link from the order's page instead).
 * A marketing message is checked against the customer's choice again when it is sent.
 */
export async function requeueFailed(tx: Transaction<Database> | Db, id: number, now: Date): Promise<boolean> {
  const at = toDbTime(now);
  const result = await tx
    .updateTable('outbox')
    .set({ status: 'pending', attempts: 0, next_attempt_at: at, claimed_by: null, claimed_until: null, last_error: null, updated_at: at })
    .where('id', '=', id)
    .where('status', '=', 'failed')
    .where('recipient', '!=', ERASED)
    .where('body_text', 'not like', `%${REMOVED_SECRET}%`)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function recentNotices(db: Db) {
  return db
    .selectFrom('service_notices')
    .select(['id', 'sent_by', 'reason', 'orders_from', 'orders_to', 'subject', 'recipients', 'created_at'])
    .orderBy('id', 'desc')
    .limit(20)
    .execute();
}
