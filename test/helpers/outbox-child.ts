/**
 * A second "app process" for the outbox tests: run with `node --import tsx`, configured by the
 * OUTBOX_CHILD environment variable (JSON), talking to the test's database and to the test's SMTP
 * server or SMS stand-in over loopback, exactly as another instance of the store would.
 *
 * Modes:
 * - drain: says "ready", waits for "go" on stdin, then drains the outbox until nothing is left
 *   to claim, and prints {"handled": n, "sent": n}.
 * - claim-and-hang: claims and starts sending (the SMS stand-in holds the request); the test kills it.
 * - pay-and-die: in one transaction marks an order paid and queues its confirmation (as the store
 *   does), prints the ids, and kills itself with SIGKILL before any worker could send it.
 */
import readline from 'node:readline';
import { sql } from 'kysely';
import type { DatabaseTarget } from '../../src/config.js';
import { openDatabase } from '../../src/db/database.js';
import { toDbTime } from '../../src/db/dialect.js';
import { createSmtpEmailSender } from '../../src/notifications/email.js';
import { queueMessage } from '../../src/notifications/outbox.js';
import { SendError, type EmailSender, type SmsSender } from '../../src/notifications/senders.js';
import { createTwilioSmsSender, type TwilioSettings } from '../../src/notifications/sms.js';
import { createOutboxWorker } from '../../src/notifications/worker.js';
import { createLogger } from '../../src/web/logging.js';

export interface OutboxChildConfig {
  mode: 'drain' | 'claim-and-hang' | 'pay-and-die';
  database: DatabaseTarget;
  workerId?: string;
  smtpUrl?: string;
  twilio?: TwilioSettings;
  leaseMs?: number;
  batchSize?: number;
  /** pay-and-die: the confirmation's recipient. */
  email?: string;
}

const config = JSON.parse(process.env.OUTBOX_CHILD ?? '{}') as OutboxChildConfig;
const say = (line: string) => process.stdout.write(`${line}\n`);

const database = await openDatabase(config.database);
const db = database.db;

if (config.mode === 'pay-and-die') {
  const now = toDbTime(new Date());
  const ids = await db.transaction().execute(async (tx) => {
    const order = await tx
      .insertInto('orders')
      .values({
        reference: `KILL${Date.now().toString(36).toUpperCase()}`,
        status: 'paid',
        total_pence: 699,
        currency: 'GBP',
        marketing_opt_in: 0,
        payment_method: 'paypal',
        affiliate_id: null,
        customer_id: null,
        age_confirmed_at: now,
        created_at: now,
        expires_at: now,
        paid_at: now,
        updated_at: now,
      })
      .executeTakeFirstOrThrow();
    const orderId = Number(order.insertId);
    const outboxId = await queueMessage(
      tx,
      {
        channel: 'email',
        recipient: config.email!,
        kind: 'transactional',
        subject: 'Your order is paid',
        text: 'Thank you for your order.',
        html: '<p>Thank you for your order.</p>',
        orderId,
      },
      now,
    );
    return { orderId, outboxId };
  });
  say(JSON.stringify(ids));
  // The process dies here: committed, nothing sent, no clean shutdown.
  process.kill(process.pid, 'SIGKILL');
}

let sent = 0;
const counting = <T extends EmailSender | SmsSender>(sender: T): T => ({
  ...sender,
  send: async (message: never) => {
    await sender.send(message);
    sent++;
  },
});
const unavailable = {
  kind: 'twilio' as const,
  send: async () => Promise.reject(new SendError('no SMS gateway in this process', false)),
  close() {},
};
const email = counting(
  config.smtpUrl
    ? createSmtpEmailSender({ smtpUrl: config.smtpUrl, from: 'Test Store <orders@store.test>' })
    : { kind: 'folder' as const, send: unavailable.send, close() {} },
);
const sms = counting(config.twilio ? createTwilioSmsSender({ ...config.twilio, timeoutMs: 120_000 }) : unavailable);
const worker = createOutboxWorker({
  db,
  senders: { email, sms },
  logger: createLogger('silent'),
  workerId: config.workerId,
  batchSize: config.batchSize ?? 10,
  leaseMs: config.leaseMs ?? 60_000,
});

if (config.mode === 'claim-and-hang') {
  say('claiming');
  await worker.drainOnce(); // never returns: the stand-in holds the request until this process is killed
}

if (config.mode === 'drain') {
  say('ready');
  const lines = readline.createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => lines.on('line', (line) => line.trim() === 'go' && resolve()));
  lines.close();
  let handled = 0;
  for (;;) {
    handled += await worker.drainOnce();
    const left = await db
      .selectFrom('outbox')
      .select(sql<number>`count(*)`.as('n'))
      .where('status', 'in', ['pending', 'sending'])
      .executeTakeFirstOrThrow();
    if (Number(left.n) === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  say(JSON.stringify({ handled, sent }));
  email.close();
  await database.close();
  process.exit(0);
}
