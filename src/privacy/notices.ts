/**
 * Service notices: the operator tells the customers whose orders fall in a time window about a
 * problem affecting them. Sent whatever their marketing choice (kind 'service'), and logged in
 * service_notices with who sent it and why, in the same transaction as the messages.
 */
import type { Db } from '../db/database.js';
import { insertedId, toDbTime } from '../db/dialect.js';
import { queueMessage } from '../notifications/outbox.js';

export interface ServiceNotice {
  ordersFrom: Date;
  ordersTo: Date;
  subject: string;
  text: string;
  reason: string;
  sentBy: string;
}

export async function sendServiceNotice(db: Db, notice: ServiceNotice, now: Date): Promise<{ noticeId: number; recipients: number }> {
  if (!notice.reason.trim() || notice.reason.length > 500) throw new Error('the reason must be 1 to 500 characters');
  if (!notice.sentBy.trim() || notice.sentBy.length > 120) throw new Error('who sends it must be 1 to 120 characters');
  if (notice.ordersFrom > notice.ordersTo) throw new Error('the window ends before it starts');
  const at = toDbTime(now);
  const customers = await db
    .selectFrom('orders')
    .innerJoin('customers', 'customers.id', 'orders.customer_id')
    .select(['customers.id', 'customers.email', 'customers.msisdn'])
    .distinct()
    .where('orders.created_at', '>=', toDbTime(notice.ordersFrom))
    .where('orders.created_at', '<=', toDbTime(notice.ordersTo))
    .orderBy('customers.id')
    .execute();
  return db.transaction().execute(async (tx) => {
    let recipients = 0;
    for (const customer of customers) {
      if (customer.email) {
        await queueMessage(
          tx,
          {
            channel: 'email',
            recipient: customer.email,
            kind: 'service',
            subject: notice.subject,
            text: notice.text,
            customerId: customer.id,
          },
          at,
        );
      } else if (customer.msisdn) {
        await queueMessage(
          tx,
          { channel: 'sms', recipient: customer.msisdn, kind: 'service', text: notice.text, customerId: customer.id },
          at,
        );
      } else continue;
      recipients++;
    }
    const result = await tx
      .insertInto('service_notices')
      .values({
        sent_by: notice.sentBy.trim(),
        reason: notice.reason.trim(),
        orders_from: toDbTime(notice.ordersFrom),
        orders_to: toDbTime(notice.ordersTo),
        subject: notice.subject,
        body_text: notice.text,
        recipients,
        created_at: at,
      })
      .executeTakeFirstOrThrow();
    return { noticeId: insertedId(result), recipients };
  });
}
