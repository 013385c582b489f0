/**
 * The outbox worker: every app process runs one. It claims due messages, sends them through the
 * email or SMS sender, and records the result, with exponential back-off between attempts.
 *
 * Claiming. A claim turns `pending` rows into `sending` rows carrying a lease (claimed_by, and
 * claimed_until, also copied into next_attempt_at so one index answers both questions). On MySQL
 * the due rows are read with FOR UPDATE SKIP LOCKED inside a READ COMMITTED transaction, so two
 * processes claim disjoint rows without waiting on each other. SQLite has one writer: each row is
 * claimed by a conditional UPDATE (... WHERE id = ? AND status = 'pending') that only one
 * process can win. Attempts are counted at the claim, so a message that crashes the process
 * still runs out of attempts.
 *
 * Hand-off. Just before a message goes to the provider the worker writes handed_at and renews its
 * lease, on the condition that the lease is still its own: a message is handed over only while the
 * database answers and no other worker can have it, and the lease runs from the hand-off.
 *
 * Database away. A result the database cannot take (it is restarting) is kept in the process
 * (held-results.ts) and written as soon as it answers, retried with back-off and once more at
 * stop(); while any is kept the worker claims nothing, so its own lease recovery never hands back
 * a message it has delivered. A row not yet handed over when the database went away is released
 * (back to pending) the same way.
 *
 * Crashes. If a process dies holding claims, the lease runs out and any worker puts the row back
 * to `pending` (or `failed` when out of attempts), and it is sent again. A message is therefore
 * never lost, and sent twice only in one window: the process died (or lost its lease) after the
 * mail server or gateway accepted the message and before the `sent` row was written; such a row
 * still has handed_at, and the recovery says so in last_error. That window is one UPDATE long,
 * written the moment the provider answers. Neither SMTP nor Twilio's API has an idempotency key
 * that would close it; an email keeps the same Message-ID on every attempt (<outbox-ID.…@…>) so a
 * duplicate can be recognised (docs/messages.md). A provider that takes the message but answers
 * after our timeout (a lost answer) also ends in a retry: at least once, never at most once.
 *
 * Consent. Transactional and service messages go out whatever the customer's marketing choice;
 * a marketing message is checked against customers.marketing_opt_in at the moment of sending,
 * so an opt-out between queueing and sending is honoured (the row ends `failed`, saying why).
 *
 * Privacy. Log lines name the outbox id, channel and kind, never the recipient or the body; a
 * provider's error text is masked (safeErrorText) before it reaches the log or last_error.
 */
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import { dialectOf, skipLocked, toDbTime } from '../db/dialect.js';
import type { Database, OutboxTable } from '../db/schema.js';
import { backoffDelayMs, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';
import { createHeldResults, type HeldResult } from './held-results.js';
import { forgetSecret, safeErrorText } from './outbox.js';
import { SendError, type EmailSender, type SmsSender } from './senders.js';

export interface OutboxWorkerOptions {
  db: Kysely<Database>;
  senders: { email: EmailSender; sms: SmsSender };
  logger: Logger;
  clock?: () => Date;
  /** Written to claimed_by (at most 64 characters); defaults to host:pid:random. */
  workerId?: string;
  /** How often an idle worker looks for due messages. */
  pollMs?: number;
  /** How many messages one claim takes; they are sent concurrently. */
  batchSize?: number;
  /** After this many attempts a message is marked failed. */
  maxAttempts?: number;
  backoff?: BackoffPolicy;
  /**
   * How long a claim is held. It must outlast a batch's sends (senders time out well before);
   * a send still unanswered at half the lease is abandoned as a failed attempt.
   */
  leaseMs?: number;
  /** For back-off jitter; tests pin it. */
  random?: () => number;
  /** How long stop() keeps trying to record results the database did not take (it is away). */
  resultGraceMs?: number;
}

export interface OutboxWorker {
  readonly workerId: string;
  /** Starts polling. Idempotent. */
  start(): void;
  /**
   * Stops polling and resolves once the sends in flight have been recorded (results the database
   * did not take are retried for up to resultGraceMs).
   */
  stop(): Promise<void>;
  /**
   * Claims and sends what is due now, batch after batch, until a claim comes back short; resolves
   * with how many messages it handled (sent, rescheduled or failed).
   */
  drainOnce(): Promise<number>;
}

export const DEFAULT_POLL_MS = 1000;
export const DEFAULT_BATCH_SIZE = 10;
export const DEFAULT_MAX_ATTEMPTS = 12;
export const DEFAULT_LEASE_MS = 5 * 60_000;
export const DEFAULT_RESULT_GRACE_MS = 15_000;

type Row = Pick<
  OutboxTable,
  'channel' | 'recipient' | 'kind' | 'subject' | 'body_text' | 'body_html' | 'attempts' | 'customer_id' | 'headers'
> & { id: number };

/** MySQL deadlock / lock wait, SQLite busy: another worker got there first; the claim is simply tried again. */
function isContention(error: unknown): boolean {
  const code = (error as { code?: string })?.code ?? '';
  return code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT' || code.startsWith('SQLITE_BUSY');
}

export function createOutboxWorker(options: OutboxWorkerOptions): OutboxWorker {
  const {
    db,
    senders,
    logger,
    clock = () => new Date(),
    pollMs = DEFAULT_POLL_MS,
    batchSize = DEFAULT_BATCH_SIZE,
    maxAttempts = DEFAULT_MAX_ATTEMPTS,
    backoff = DEFAULT_BACKOFF,
    leaseMs = DEFAULT_LEASE_MS,
    random = Math.random,
    resultGraceMs = DEFAULT_RESULT_GRACE_MS,
  } = options;
  const workerId = (options.workerId ?? `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`).slice(0, 64);
  if (batchSize < 1 || maxAttempts < 1 || pollMs < 1 || leaseMs < 1000)
    throw new RangeError('outbox worker: batchSize, maxAttempts, pollMs must be positive and leaseMs at least 1 s');
  const mysql = dialectOf(db) === 'mysql';
  const sendTimeoutMs = Math.floor(leaseMs / 2);

  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let loop: Promise<void> | undefined;
  const inFlight = new Set<Promise<unknown>>();
  const held = createHeldResults(logger);

  /** Rows whose holder's lease ran out go back to the queue (or to failed, when out of attempts). */
  async function recoverExpiredLeases(now: string): Promise<void> {
    // A plain read first: almost always there is nothing to take back, and then nothing is locked or written.
    const expired = await db
      .selectFrom('outbox')
      .select('id')
      .where('status', '=', 'sending')
      .where('next_attempt_at', '<=', now)
      .limit(1)
      .executeTakeFirst();
    if (!expired) return;
    const failed = await db
      .updateTable('outbox')
      .set({
        status: 'failed',
        claimed_by: null,
        claimed_until: null,
        last_error: 'lease expired after the last attempt: the worker stopped before recording a result',
        updated_at: now,
        ...forgetSecret(),
      })
      .where('status', '=', 'sending')
      .where('next_attempt_at', '<=', now)
      .where('attempts', '>=', maxAttempts)
      .executeTakeFirst();
    const requeue = (handedOver: boolean, lastError: string) =>
      db
        .updateTable('outbox')
        .set({ status: 'pending', claimed_by: null, claimed_until: null, last_error: lastError, updated_at: now })
        .where('status', '=', 'sending')
        .where('next_attempt_at', '<=', now)
        .where('handed_at', handedOver ? 'is not' : 'is', null)
        .executeTakeFirst();
    const mayBeDuplicates = await requeue(
      true,
      'lease expired after the hand-off: it may have been delivered, and goes again with the same Message-ID',
    );
    const requeued = await requeue(false, 'lease expired: the worker stopped before recording a result');
    const counts = {
      requeued: Number(requeued.numUpdatedRows),
      mayBeDuplicates: Number(mayBeDuplicates.numUpdatedRows),
      failed: Number(failed.numUpdatedRows),
    };
    if (counts.requeued + counts.mayBeDuplicates + counts.failed > 0)
      logger.warn(counts, 'outbox: took back messages whose worker stopped mid-send');
  }

  function dueQuery(qb: Kysely<Database>, now: string, limit: number) {
    // Index order (status, next_attempt_at, id): LIMIT stops the scan, so a MySQL claim locks only
    // the rows it takes (ORDER BY id alone would sort, and lock, every due row first).
    return qb
      .selectFrom('outbox')
      .select('id')
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .orderBy('next_attempt_at')
      .orderBy('id')
      .limit(limit);
  }

  function claimValues(now: string, leaseEnd: string) {
    return {
      status: 'sending' as const,
      claimed_by: workerId,
      claimed_until: leaseEnd,
      next_attempt_at: leaseEnd,
      handed_at: null,
      attempts: sql<number>`attempts + 1`,
      updated_at: now,
    };
  }

  async function claimBatch(): Promise<Row[]> {
    const started = clock();
    const now = toDbTime(started);
    const leaseEnd = toDbTime(new Date(started.getTime() + leaseMs));
    await recoverExpiredLeases(now);
    let ids: number[];
    if (mysql) {
      ids = await db
        .transaction()
        .setIsolationLevel('read committed')
        .execute(async (tx) => {
          const rows = await skipLocked(tx, dueQuery(tx, now, batchSize)).execute();
          const taken = rows.map((r) => r.id);
          if (taken.length) await tx.updateTable('outbox').set(claimValues(now, leaseEnd)).where('id', 'in', taken).execute();
          return taken;
        });
    } else {
      ids = [];
      for (const { id } of await dueQuery(db, now, batchSize).execute()) {
        const won = await db
          .updateTable('outbox')
          .set(claimValues(now, leaseEnd))
          .where('id', '=', id)
          .where('status', '=', 'pending')
          .where('next_attempt_at', '<=', now)
          .executeTakeFirst();
        if (Number(won.numUpdatedRows) === 1) ids.push(id);
      }
    }
    if (!ids.length) return [];
    return db
      .selectFrom('outbox')
      .select(['id', 'channel', 'recipient', 'kind', 'subject', 'body_text', 'body_html', 'attempts', 'customer_id', 'headers'])
      .where('id', 'in', ids)
      .where('claimed_by', '=', workerId)
      .where('status', '=', 'sending')
      .orderBy('id')
      .execute();
  }

  async function claimWithRetry(): Promise<Row[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await claimBatch();
      } catch (error) {
        if (!isContention(error) || attempt >= 3) throw error;
      }
    }
  }

  async function marketingAllowed(row: Row): Promise<boolean> {
    if (row.kind !== 'marketing') return true;
    if (row.customer_id === null) return false;
    const customer = await db.selectFrom('customers').select('marketing_opt_in').where('id', '=', row.customer_id).executeTakeFirst();
    return customer?.marketing_opt_in === 1;
  }

  function deliver(row: Row): Promise<void> {
    const send =
      row.channel === 'email'
        ? senders.email.send({
            outboxId: row.id,
            to: row.recipient,
            subject: row.subject ?? '',
            text: row.body_text,
            html: row.body_html,
            ...(row.headers ? { headers: JSON.parse(row.headers) as Record<string, string> } : {}),
          })
        : senders.sms.send({ outboxId: row.id, to: row.recipient, text: row.body_text });
    let timeout: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timeout = setTimeout(() => reject(new Error(`no answer within ${Math.round(sendTimeoutMs / 1000)} s`)), sendTimeoutMs);
      timeout.unref();
    });
    return Promise.race([send, expired]).finally(() => clearTimeout(timeout));
  }

  async function recordSent(row: Row): Promise<void> {
    const now = toDbTime(clock());
    // claimed_by stays: an operator can see which process sent each message.
    const sent = {
      status: 'sent' as const,
      sent_at: now,
      claimed_by: workerId,
      claimed_until: null,
      last_error: null,
      updated_at: now,
      ...forgetSecret(),
    };
    const mine = await db
      .updateTable('outbox')
      .set(sent)
      .where('id', '=', row.id)
      .where('claimed_by', '=', workerId)
      .where('status', '=', 'sending')
      .executeTakeFirst();
    if (Number(mine.numUpdatedRows) === 1) return;
    // The lease ran out while the provider was answering: the message did go out, so say so, but
    // another worker may have taken it and be sending it again. (No row changed: it was already
    // recorded, by this write repeated after its answer was lost, or by the other worker.)
    const taken = await db.updateTable('outbox').set(sent).where('id', '=', row.id).where('status', '<>', 'sent').executeTakeFirst();
    if (Number(taken.numUpdatedRows) > 0)
      logger.warn(
        { outboxId: row.id, channel: row.channel },
        'outbox: lease lost before the send was recorded; the message may go out twice',
      );
  }

  async function recordFailure(row: Row, error: unknown): Promise<void> {
    const at = clock();
    const now = toDbTime(at);
    const attempts = row.attempts; // already counted at the claim
    const permanent = error instanceof SendError && error.permanent;
    const giveUp = permanent || attempts >= maxAttempts;
    const reason = safeErrorText(error);
    const next = giveUp ? now : toDbTime(new Date(at.getTime() + backoffDelayMs(attempts, backoff, random)));
    await db
      .updateTable('outbox')
      .set({
        status: giveUp ? 'failed' : 'pending',
        next_attempt_at: next,
        claimed_by: null,
        claimed_until: null,
        last_error: reason,
        updated_at: now,
        ...(giveUp ? forgetSecret() : {}),
      })
      .where('id', '=', row.id)
      .where('claimed_by', '=', workerId)
      .where('status', '=', 'sending')
      .execute();
    const entry = { outboxId: row.id, channel: row.channel, kind: row.kind, attempts, error: reason };
    if (giveUp) logger.error({ ...entry, permanent }, 'outbox: message failed; it will not be retried unless an operator sets it pending');
    else logger.warn({ ...entry, nextAttemptAt: next }, 'outbox: send failed; will retry');
  }

  /**
   * The hand-off mark: handed_at, and a lease that runs from now, written only while the lease is
   * still this worker's. False: it is not (it ran out; another worker may be sending the row).
   */
  async function markHandedOver(row: Row): Promise<boolean> {
    const at = clock();
    const leaseEnd = toDbTime(new Date(at.getTime() + leaseMs));
    const marked = await db
      .updateTable('outbox')
      .set({ handed_at: toDbTime(at), claimed_until: leaseEnd, next_attempt_at: leaseEnd, updated_at: toDbTime(at) })
      .where('id', '=', row.id)
      .where('claimed_by', '=', workerId)
      .where('status', '=', 'sending')
      .executeTakeFirst();
    return Number(marked.numUpdatedRows) === 1;
  }

  /** A claimed row never handed over goes back to the queue, due now. */
  async function release(row: Row): Promise<void> {
    const now = toDbTime(clock());
    await db
      .updateTable('outbox')
      .set({ status: 'pending', next_attempt_at: now, claimed_by: null, claimed_until: null, handed_at: null, updated_at: now })
      .where('id', '=', row.id)
      .where('claimed_by', '=', workerId)
      .where('status', '=', 'sending')
      .execute();
  }

  /** Writes a result now or, when the database does not take it, keeps it to write once it answers. */
  async function record(row: Row, outcome: HeldResult['outcome'], write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (error) {
      held.hold({ outboxId: row.id, outcome, write }, error);
    }
  }

  async function handle(row: Row): Promise<void> {
    let handedOver: boolean;
    try {
      if (!(await marketingAllowed(row)))
        return await record(row, 'failed', () =>
          recordFailure(row, new SendError('not sent: the customer has not opted in to marketing', true)),
        );
      handedOver = await markHandedOver(row);
    } catch (error) {
      // The database went away before the hand-off: nothing went out; the row goes back once it answers.
      held.hold({ outboxId: row.id, outcome: 'released', write: () => release(row) }, error);
      return;
    }
    if (!handedOver) {
      logger.warn({ outboxId: row.id, channel: row.channel }, 'outbox: lease lost before the hand-off; not sent by this worker');
      return;
    }
    try {
      await deliver(row);
    } catch (error) {
      await record(row, 'failed', () => recordFailure(row, error));
      return;
    }
    await record(row, 'sent', () => recordSent(row));
    logger.info({ outboxId: row.id, channel: row.channel, kind: row.kind, attempts: row.attempts }, 'outbox: message sent');
  }

  async function drain(goOn: () => boolean): Promise<number> {
    let handled = 0;
    for (;;) {
      // Nothing is claimed while a result is kept: the lease recovery could hand back a message this
      // worker has delivered. The kept results go first, as soon as the database takes them.
      if (!(await held.flush())) return handled;
      const rows = await claimWithRetry();
      const work = Promise.allSettled(rows.map((row) => handle(row)));
      inFlight.add(work);
      const results = await work.finally(() => inFlight.delete(work));
      for (const r of results)
        if (r.status === 'rejected') logger.error({ err: r.reason }, 'outbox: handling a message failed; the lease will return it');
      handled += rows.length;
      if (rows.length < batchSize || !goOn()) return handled;
    }
  }

  async function tick(): Promise<void> {
    try {
      await drain(() => running);
    } catch (error) {
      logger.error({ err: error }, 'outbox: claiming messages failed; trying again at the next poll');
    }
    if (running) {
      timer = setTimeout(() => {
        loop = tick();
      }, pollMs);
    }
  }

  return {
    workerId,
    start() {
      if (running) return;
      running = true;
      loop = tick();
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      await loop;
      await Promise.allSettled([...inFlight]);
      const unrecorded = await held.settle(resultGraceMs);
      held.stop();
      if (unrecorded.length)
        logger.error(
          { outboxIds: unrecorded },
          'outbox: stopped with results the database never took; these messages go out again when their lease ends',
        );
    },
    drainOnce: () => drain(() => true),
  };
}
