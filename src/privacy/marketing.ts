/**
 * Marketing choice: the signed one-click unsubscribe token, changing the choice (with its time),
 * and queuing a marketing send to the customers who opted in. The outbox worker checks the
 * choice again at the moment of sending, so an opt-out after queuing still wins.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Db } from '../db/database.js';
import { toDbTime } from '../db/dialect.js';
import { queueMessage } from '../notifications/outbox.js';

const sign = (secret: string, customerId: number) =>
  createHmac('sha256', secret).update(`unsubscribe:${customerId}`).digest('base64url').slice(0, 32);

/** `<customer id>.<HMAC>`: proves the link was made by us for that customer; carries no contact detail. */
export function unsubscribeToken(secret: string, customerId: number): string {
  return `${customerId}.${sign(secret, customerId)}`;
}

/** The customer id a token was made for, or null when it was not made by us (tampered, truncated). */
export function verifyUnsubscribeToken(secret: string, token: string): number | null {
  const match = /^([1-9]\d{0,11})\.([A-Za-z0-9_-]{32})$/.exec(token);
  if (!match) return null;
  const id = Number(match[1]);
  const expected = Buffer.from(sign(secret, id));
  const given = Buffer.from(match[2]!);
  return given.length === expected.length && timingSafeEqual(given, expected) ? id : null;
}

export function unsubscribeUrl(publicUrl: string, secret: string, customerId: number): string {
  return `${publicUrl}/unsubscribe/${unsubscribeToken(secret, customerId)}`;
}

/** Records the customer's choice and its time; returns false when it was already that (nothing changes). */
export async function setMarketingChoice(db: Db, customerId: number, optIn: boolean, now: Date): Promise<boolean> {
  const result = await db
    .updateTable('customers')
    .set({ marketing_opt_in: optIn ? 1 : 0, marketing_choice_at: toDbTime(now), updated_at: toDbTime(now) })
    .where('id', '=', customerId)
    .where('marketing_opt_in', '=', optIn ? 0 : 1)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function marketingChoice(db: Db, customerId: number) {
  return db.selectFrom('customers').select(['marketing_opt_in', 'marketing_choice_at']).where('id', '=', customerId).executeTakeFirst();
}

/**
 * Queues one marketing message per opted-in customer (email, or SMS for a mobile-only customer),
 * each email with its own unsubscribe link and the RFC 8058 headers. Returns how many were queued.
 */
export async function queueMarketing(
  db: Db,
  { subject, text, publicUrl, secret }: { subject: string; text: string; publicUrl: string; secret: string },
  now: Date,
): Promise<number> {
  const at = toDbTime(now);
  const customers = await db
    .selectFrom('customers')
    .select(['id', 'email', 'msisdn'])
    .where('marketing_opt_in', '=', 1)
    .orderBy('id')
    .execute();
  let queued = 0;
  await db.transaction().execute(async (tx) => {
    for (const customer of customers) {
      const link = unsubscribeUrl(publicUrl, secret, customer.id);
      if (customer.email) {
        await queueMessage(
          tx,
          {
            channel: 'email',
            recipient: customer.email,
            kind: 'marketing',
            subject,
            text: `${text.trimEnd()}\n\n--\nYou get this because you asked for news from us. Unsubscribe with one click: ${link}\n`,
            customerId: customer.id,
            headers: { 'List-Unsubscribe': `<${link}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
          },
          at,
        );
      } else if (customer.msisdn) {
        await queueMessage(
          tx,
          {
            channel: 'sms',
            recipient: customer.msisdn,
            kind: 'marketing',
            text: `${text.trim()}\nStop these texts: ${link}`,
            customerId: customer.id,
          },
          at,
        );
      } else continue;
      queued++;
    }
  });
  return queued;
}
