/**
 * The outbox: how any part of the store sends an email or an SMS. A message is a row written in
 * the caller's own transaction (the one that marks an order paid, or issues a sign-in code), so
 * it exists exactly when the event that caused it does; the worker (worker.ts) sends it later,
 * with retries. Nothing here talks to a mail server or a gateway.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import { REMOVED_SECRET } from '../../migrations/014_outbox_secrets.js';
import { insertedId } from '../db/dialect.js';
import type { Database, OutboxChannel, OutboxKind } from '../db/schema.js';

export type { OutboxChannel, OutboxKind, OutboxStatus, OutboxTable } from '../db/schema.js';

export interface QueuedMessage {
  channel: OutboxChannel;
  /**
   * An email address (channel 'email'), or a mobile number in international form (channel 'sms'):
   * +447700900123, or 447700900123 as the store keeps it (stored, and sent, with the +).
   */
  recipient: string;
  /**
   * transactional (an order confirmation, a sign-in code) and service (an operator's incident
   * notice) are sent whatever the customer's marketing choice; marketing is sent only while the
   * customer has opted in, checked again at the moment of sending, so it needs customerId.
   */
  kind: OutboxKind;
  /** Required for email; ignored for SMS. */
  subject?: string;
  /** The plain-text body: the whole SMS, or the text/plain part of an email. */
  text: string;
  /** The text/html part of an email (the plain-text part is always sent too). */
  html?: string;
  customerId?: number;
  orderId?: number;
  /** Extra email headers (List-Unsubscribe, List-Unsubscribe-Post on marketing); email only. */
  headers?: Record<string, string>;
  /**
   * The sign-in code or link token the text carries: kept only while the message waits, and
   * replaced by REMOVED_SECRET in what is stored once it is sent or fails for good (forgetSecret).
   */
  secret?: string;
}

export class InvalidMessageError extends Error {}

export const MAX_RECIPIENT_LENGTH = 254;
export const MAX_SUBJECT_LENGTH = 255;
/** Twilio refuses bodies over 1,600 characters (error 21617). */
export const MAX_SMS_LENGTH = 1600;

const EMAIL = /^[^\s@<>()",;:]+@[^\s@<>()",;:]+\.[^\s@<>()",;:]+$/;
/** International form with or without the +: the store keeps numbers as digits only (447700900123). */
const INTERNATIONAL_NUMBER = /^\+?[1-9]\d{6,14}$/;

/**
 * Queues one message and returns its outbox id. Call it inside the transaction of the event that
 * causes the message: if that transaction rolls back, no message; once it commits, the message is
 * sent even if the process dies the next instant. `now` is the database time ('YYYY-MM-DD HH:MM:SS',
 * see toDbTime) at which it becomes due: normally the event's own time.
 */
export async function queueMessage(tx: Transaction<Database> | Kysely<Database>, msg: QueuedMessage, now: string): Promise<number> {
  const checked = checkMessage(msg);
  const result = await tx
    .insertInto('outbox')
    .values({
      channel: checked.channel,
      recipient: checked.recipient,
      kind: checked.kind,
      subject: checked.subject ?? null,
      body_text: checked.text,
      body_html: checked.html ?? null,
      status: 'pending',
      attempts: 0,
      next_attempt_at: now,
      claimed_by: null,
      claimed_until: null,
      last_error: null,
      customer_id: checked.customerId ?? null,
      order_id: checked.orderId ?? null,
      created_at: now,
      sent_at: null,
      updated_at: now,
      headers: checked.headers ? JSON.stringify(checked.headers) : null,
      secret: checked.secret ?? null,
    })
    .executeTakeFirstOrThrow();
  return insertedId(result);
}

export { REMOVED_SECRET };

/**
 * The columns that forget a message's secret, for the same UPDATE that records it as sent or
 * failed for good: the code or token in subject and bodies becomes REMOVED_SECRET (what the
 * operator needs, that it was sent and what kind, stays), and `secret` is emptied. `secret` comes
 * last: MySQL evaluates assignments left to right, each seeing the ones before.
 */
export function forgetSecret() {
  const without = (column: 'subject' | 'body_text' | 'body_html') =>
    sql<string>`coalesce(replace(${sql.ref(column)}, secret, ${REMOVED_SECRET}), ${sql.ref(column)})`;
  return { subject: without('subject'), body_text: without('body_text'), body_html: without('body_html'), secret: null };
}

/**
 * Queues a message that must not stop the transaction it belongs to (an order's confirmation in
 * the paying transaction): a message the outbox refuses (an address our mail server could not
 * use, say) is recorded as failed with the reason, without its secret, for the operator to see
 * on the order and in the messages page, instead of rolling back the payment.
 */
export async function queueOrRecordUndeliverable(tx: Transaction<Database>, msg: QueuedMessage, now: string): Promise<number> {
  try {
    return await queueMessage(tx, msg, now);
  } catch (error) {
    if (!(error instanceof InvalidMessageError)) throw error;
    const secretFree = (text: string) => (msg.secret ? text.replaceAll(msg.secret, REMOVED_SECRET) : text);
    const result = await tx
      .insertInto('outbox')
      .values({
        channel: msg.channel,
        recipient: msg.recipient.slice(0, MAX_RECIPIENT_LENGTH),
        kind: msg.kind,
        subject:
          msg.subject === undefined
            ? null
            : secretFree(msg.subject)
                .replace(/[\r\n]+/g, ' ')
                .slice(0, MAX_SUBJECT_LENGTH),
        body_text: secretFree(msg.text),
        body_html: msg.html === undefined ? null : secretFree(msg.html),
        status: 'failed',
        attempts: 0,
        next_attempt_at: now,
        claimed_by: null,
        claimed_until: null,
        last_error: safeErrorText(`undeliverable, not sent: ${error.message}`),
        customer_id: msg.customerId ?? null,
        order_id: msg.orderId ?? null,
        created_at: now,
        sent_at: null,
        updated_at: now,
        headers: null,
        secret: null,
      })
      .executeTakeFirstOrThrow();
    return insertedId(result);
  }
}

/** A programming mistake (an empty body, an email without a subject) fails at once, in the caller's transaction. */
function checkMessage(msg: QueuedMessage): QueuedMessage {
  let recipient = msg.recipient.trim();
  if (msg.channel === 'email') {
    if (recipient.length > MAX_RECIPIENT_LENGTH || !EMAIL.test(recipient))
      throw new InvalidMessageError('email recipient is not an email address');
    if (!msg.subject?.trim()) throw new InvalidMessageError('an email needs a subject');
    if (msg.subject.length > MAX_SUBJECT_LENGTH || /[\r\n]/.test(msg.subject))
      throw new InvalidMessageError('the subject must be one line of at most 255 characters');
  } else if (msg.channel === 'sms') {
    if (!INTERNATIONAL_NUMBER.test(recipient))
      throw new InvalidMessageError('SMS recipient must be a number in international form such as +447700900123');
    if (!recipient.startsWith('+')) recipient = `+${recipient}`;
    if (msg.text.length > MAX_SMS_LENGTH) throw new InvalidMessageError(`an SMS is at most ${MAX_SMS_LENGTH} characters`);
    if (msg.html !== undefined) throw new InvalidMessageError('an SMS has no HTML part');
  } else {
    throw new InvalidMessageError(`unknown channel ${String(msg.channel)}`);
  }
  if (!['transactional', 'service', 'marketing'].includes(msg.kind)) throw new InvalidMessageError(`unknown kind ${String(msg.kind)}`);
  if (msg.kind === 'marketing' && msg.customerId === undefined)
    throw new InvalidMessageError('a marketing message needs customerId, so the opt-out can be honoured');
  if (!msg.text.trim()) throw new InvalidMessageError('the message needs a text body');
  if (msg.headers) {
    if (msg.channel !== 'email') throw new InvalidMessageError('only an email has headers');
    for (const [name, value] of Object.entries(msg.headers)) {
      if (!/^[A-Za-z][A-Za-z0-9-]{0,60}$/.test(name) || /[\r\n]/.test(value) || value.length > 900)
        throw new InvalidMessageError(`header ${name} is not a valid one-line header`);
    }
  }
  return { ...msg, recipient, subject: msg.channel === 'email' ? msg.subject : undefined };
}

/**
 * A recipient fit for a log line, when one must be mentioned at all: f***@e***.com, +44*******23.
 * Logs otherwise carry the outbox id, which leads an operator to the row.
 */
export function maskRecipient(recipient: string): string {
  const at = recipient.lastIndexOf('@');
  if (at > 0) {
    const domain = recipient.slice(at + 1);
    const dot = domain.lastIndexOf('.');
    const tld = dot >= 0 ? domain.slice(dot) : '';
    return `${recipient[0]}***@${domain[0] ?? ''}***${tld}`;
  }
  if (recipient.length <= 5) return '*'.repeat(recipient.length);
  return `${recipient.slice(0, 3)}${'*'.repeat(recipient.length - 5)}${recipient.slice(-2)}`;
}

/**
 * Error text fit for outbox.last_error and the log: an SMTP server's or gateway's answer can quote
 * the address or number it refused, so anything that looks like one is masked, and the whole is
 * cut to the column's 255 characters.
 */
export function safeErrorText(error: unknown): string {
  const raw = error instanceof Error ? error.message : String(error);
  const masked = raw
    .replace(/[^\s<>()",;:@]+@[^\s<>()",;:@]+/g, (m) => maskRecipient(m))
    .replace(/\+?\d[\d\s().-]{5,}\d/g, (m) => (m.replace(/\D/g, '').length >= 7 ? maskRecipient(m.replace(/[^\d+]/g, '')) : m))
    .replace(/\s+/g, ' ')
    .trim();
  return masked.length > 255 ? `${masked.slice(0, 254)}…` : masked || 'unknown error';
}
