import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toDbTime } from '../../src/db/dialect.js';
import { createSmtpEmailSender } from '../../src/notifications/email.js';
import { InvalidMessageError, queueMessage, type QueuedMessage } from '../../src/notifications/outbox.js';
import { SendError, type EmailSender, type SmsSender } from '../../src/notifications/senders.js';
import { createTwilioSmsSender } from '../../src/notifications/sms.js';
import { createOutboxWorker, type OutboxWorkerOptions } from '../../src/notifications/worker.js';
import { newStandInAccount, startTwilioSandbox } from '../../sandbox/twilio/index.js';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../helpers/databases.js';
import type { OutboxChildConfig } from '../helpers/outbox-child.js';
import { freePort, startSmtpServer } from '../helpers/smtp.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CHILD = path.join(ROOT, 'test/helpers/outbox-child.ts');
const FROM = 'Northern Lights Music <orders@store.test>';
const SMS_FROM = '+447700900000';
/** Exact schedule: 60 s, 120 s, 240 s ... so a test can step the clock to the next attempt. */
const BACKOFF = { baseMs: 60_000, maxMs: 3_600_000, jitter: 0 };

/** Another process of the store (test/helpers/outbox-child.ts), with its stdout as lines. */
function spawnChild(config: OutboxChildConfig) {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    cwd: ROOT,
    env: { ...process.env, OUTBOX_CHILD: JSON.stringify(config) },
    stdio: 'pipe',
  });
  const lines: string[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  readline.createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child: child as ChildProcessWithoutNullStreams,
    exited,
    async line(match: (line: string) => boolean, timeoutMs = 30_000): Promise<string> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = lines.find(match);
        if (found) return found;
        if (Date.now() > deadline || child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`child process said ${JSON.stringify(lines)}; stderr: ${stderr}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
  };
}

async function until(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.each(databaseKinds())('outbox on $kind', ({ kind, skip }) => {
  let database: TestDatabase;
  let now: Date;
  const clock = () => now;
  const advance = (ms: number) => (now = new Date(now.getTime() + ms));
  const logLines: string[] = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _encoding, callback) {
        logLines.push(String(chunk));
        callback();
      },
    }),
  );
  const cleanups: (() => Promise<void> | void)[] = [];
  const later = <T extends { close(): unknown }>(thing: T): T => (cleanups.push(() => thing.close() as Promise<void> | void), thing);

  beforeAll(async () => {
    if (skip) return;
    database = await createTestDatabase(kind);
  });
  afterAll(async () => database?.drop());
  beforeEach(async () => {
    if (skip) return;
    now = new Date('2030-06-01T12:00:00Z');
    logLines.length = 0;
    await database.db.deleteFrom('outbox').execute();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const db = () => database.db;
  const row = (id: number) => db().selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const queue = (msg: QueuedMessage, at = toDbTime(now)) =>
    db()
      .transaction()
      .execute((tx) => queueMessage(tx, msg, at));
  const noSms: SmsSender = { kind: 'twilio', send: () => Promise.reject(new SendError('no SMS in this test', true)), close() {} };
  const noEmail: EmailSender = { kind: 'smtp', send: () => Promise.reject(new SendError('no email in this test', true)), close() {} };
  const worker = (senders: Partial<OutboxWorkerOptions['senders']>, extra: Partial<OutboxWorkerOptions> = {}) =>
    createOutboxWorker({
      db: db(),
      senders: { email: noEmail, sms: noSms, ...senders },
      logger,
      clock,
      workerId: 'test-worker',
      backoff: BACKOFF,
      maxAttempts: 5,
      ...extra,
    });
  const smtpSender = (url: string) => later(createSmtpEmailSender({ smtpUrl: url, from: FROM, timeoutMs: 5000 }));
  const startSmtp = async (port?: number, options?: Parameters<typeof startSmtpServer>[1]) => later(await startSmtpServer(port, options));
  const startTwilio = async () => {
    const account = newStandInAccount();
    const sandbox = later(await startTwilioSandbox({ ...account, clock }));
    const sender = createTwilioSmsSender({ apiBase: sandbox.url, ...account, from: SMS_FROM, timeoutMs: 5000 });
    return { sandbox, sender, account };
  };
  const email = (n: number | string, extra: Partial<QueuedMessage> = {}): QueuedMessage => ({
    channel: 'email',
    recipient: `fan${n}@example.com`,
    kind: 'transactional',
    subject: `Your order ${n} is paid`,
    text: `Thank you for order ${n}.\nDownload it from your account.`,
    html: `<h1>Thank you</h1><p>Order <strong>${n}</strong> is paid.</p>`,
    ...extra,
  });

  it.skipIf(skip)('sends a queued email over SMTP once, with HTML and text parts, subject and recipient', async () => {
    const smtp = await startSmtp();
    const id = await queue(email(1));
    expect(await row(id)).toMatchObject({
      status: 'pending',
      attempts: 0,
      next_attempt_at: toDbTime(now),
      body_html: expect.stringContaining('<strong>1</strong>'),
    });

    const outbox = worker({ email: smtpSender(smtp.url) });
    expect(await outbox.drainOnce()).toBe(1);
    expect(smtp.received).toHaveLength(1);
    const [mail] = smtp.received;
    expect(mail!.envelopeTo).toEqual(['fan1@example.com']);
    expect(mail!.envelopeFrom).toBe('orders@store.test');
    expect(mail!.parsed.subject).toBe('Your order 1 is paid');
    expect(mail!.parsed.from?.text).toContain('Northern Lights Music');
    expect(mail!.parsed.text).toContain('Thank you for order 1.');
    expect(mail!.parsed.html).toContain('Order <strong>1</strong> is paid.');
    expect(mail!.parsed.messageId).toMatch(new RegExp(`^<outbox-${id}\\.[0-9a-f]{20}@store\\.test>$`));
    expect(await row(id)).toMatchObject({
      status: 'sent',
      attempts: 1,
      sent_at: toDbTime(now),
      last_error: null,
      claimed_until: null,
      claimed_by: 'test-worker',
    });

    advance(3_600_000);
    expect(await outbox.drainOnce()).toBe(0);
    expect(smtp.received).toHaveLength(1);
  });

  it.skipIf(skip)("queues inside the caller's transaction: a rolled-back event leaves no message", async () => {
    await expect(
      db()
        .transaction()
        .execute(async (tx) => {
          await queueMessage(tx, email(2), toDbTime(now));
          throw new Error('payment could not be recorded');
        }),
    ).rejects.toThrow('payment could not be recorded');
    expect(await db().selectFrom('outbox').selectAll().execute()).toHaveLength(0);
  });

  it.skipIf(skip)('refuses malformed messages before anything is written', async () => {
    await expect(queue(email(3, { recipient: 'not an address' }))).rejects.toThrow(InvalidMessageError);
    await expect(queue(email(3, { subject: undefined }))).rejects.toThrow(/subject/);
    await expect(queue({ channel: 'sms', recipient: '07700 900123', kind: 'transactional', text: 'x' })).rejects.toThrow(
      /international form/,
    );
    await expect(queue({ channel: 'sms', recipient: '+447700900123', kind: 'transactional', text: 'x'.repeat(1601) })).rejects.toThrow(
      /1600/,
    );
    await expect(queue(email(3, { kind: 'marketing' }))).rejects.toThrow(/customerId/);
    expect(await db().selectFrom('outbox').selectAll().execute()).toHaveLength(0);
  });

  it.skipIf(skip)(
    'SMTP down when the order is paid: the message waits with back-off, then goes out exactly once when the server is back',
    async () => {
      const port = await freePort();
      const outbox = worker({ email: smtpSender(`smtp://127.0.0.1:${port}`) });
      const paidAt = toDbTime(now);
      const id = await queue(email(4));

      expect(await outbox.drainOnce()).toBe(1);
      let waiting = await row(id);
      expect(waiting).toMatchObject({ status: 'pending', attempts: 1, claimed_by: null, sent_at: null });
      expect(waiting.last_error).toMatch(/ECONNREFUSED|ECONNECTION/);
      expect(waiting.next_attempt_at).toBe(toDbTime(new Date(now.getTime() + 60_000)));
      expect(await outbox.drainOnce()).toBe(0); // not due yet

      advance(60_000);
      expect(await outbox.drainOnce()).toBe(1);
      waiting = await row(id);
      expect(waiting).toMatchObject({ status: 'pending', attempts: 2 });
      expect(waiting.next_attempt_at).toBe(toDbTime(new Date(now.getTime() + 120_000))); // doubled

      const smtp = await startSmtp(port);
      expect(await outbox.drainOnce()).toBe(0);
      expect(smtp.received).toHaveLength(0); // the server is back, but the message waits its turn

      advance(120_000);
      expect(await outbox.drainOnce()).toBe(1);
      expect(smtp.received).toHaveLength(1);
      expect(smtp.received[0]!.parsed.subject).toBe('Your order 4 is paid');
      const sent = await row(id);
      expect(sent).toMatchObject({ status: 'sent', attempts: 3, last_error: null, created_at: paidAt });

      advance(24 * 3_600_000);
      expect(await outbox.drainOnce()).toBe(0);
      expect(smtp.received).toHaveLength(1);
    },
  );

  it.skipIf(skip)('takes a mobile number as the store keeps it (digits only) and stores and sends it with the +', async () => {
    const { sandbox, sender } = await startTwilio();
    const id = await queue({ channel: 'sms', recipient: '447700900128', kind: 'transactional', text: 'Your order is paid' });
    expect((await row(id)).recipient).toBe('+447700900128');
    expect(await worker({ sms: sender }).drainOnce()).toBe(1);
    expect(sandbox.control.messages().map((m) => m.to)).toEqual(['+447700900128']);
  });

  it.skipIf(skip)('SMS gateway answering 500 then 201: the text arrives once', async () => {
    const { sandbox, sender } = await startTwilio();
    const outbox = worker({ sms: sender });
    sandbox.control.failNext('http500');
    const id = await queue({ channel: 'sms', recipient: '+447700900123', kind: 'transactional', text: 'Your sign-in code is 482913' });

    expect(await outbox.drainOnce()).toBe(1);
    expect(await row(id)).toMatchObject({ status: 'pending', attempts: 1, last_error: 'Twilio HTTP 500 error 20500' });
    expect(sandbox.control.messages()).toHaveLength(0);

    advance(60_000);
    expect(await outbox.drainOnce()).toBe(1);
    expect(await row(id)).toMatchObject({ status: 'sent', attempts: 2, last_error: null });
    const received = sandbox.control.messages();
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ to: '+447700900123', from: SMS_FROM, body: 'Your sign-in code is 482913' });
    expect(sandbox.control.requests().map((r) => r.status)).toEqual([500, 201]);

    advance(3_600_000);
    expect(await outbox.drainOnce()).toBe(0);
    expect(sandbox.control.messages()).toHaveLength(1);
  });

  it.skipIf(skip)('a refusal fails the message at once; a gateway that keeps failing is given up after maxAttempts', async () => {
    const { sandbox, account } = await startTwilio();
    const wrongToken = createTwilioSmsSender({
      apiBase: sandbox.url,
      accountSid: account.accountSid,
      authToken: 'not-the-token-0000',
      from: SMS_FROM,
    });
    const refused = await queue({ channel: 'sms', recipient: '+447700900124', kind: 'transactional', text: 'code 1' });
    expect(await worker({ sms: wrongToken }).drainOnce()).toBe(1);
    expect(await row(refused)).toMatchObject({ status: 'failed', attempts: 1, last_error: 'Twilio HTTP 401 error 20003' });

    await db().deleteFrom('outbox').execute();
    const { sender } = await startTwilio();
    const flaky = await startTwilio();
    flaky.sandbox.control.failNext('http500', 10);
    const outbox = worker({ sms: flaky.sender }, { maxAttempts: 3 });
    const id = await queue({ channel: 'sms', recipient: '+447700900125', kind: 'transactional', text: 'code 2' });
    for (let i = 0; i < 5; i++) {
      await outbox.drainOnce();
      advance(3_600_000);
    }
    expect(await row(id)).toMatchObject({ status: 'failed', attempts: 3, last_error: 'Twilio HTTP 500 error 20500' });
    expect(flaky.sandbox.control.requests()).toHaveLength(3);
    // An operator retries it once the gateway works again: back to pending, and it goes out.
    await db()
      .updateTable('outbox')
      .set({ status: 'pending', attempts: 0, next_attempt_at: toDbTime(now) })
      .where('id', '=', id)
      .execute();
    expect(await worker({ sms: sender }).drainOnce()).toBe(1);
    expect((await row(id)).status).toBe('sent');
  });

  it.skipIf(skip)('killed mid-send: the lease runs out and the message goes out once after restart', { timeout: 60_000 }, async () => {
    const { sandbox, account } = await startTwilio();
    sandbox.control.failNext('timeout'); // the first request is taken and never answered
    const realNow = new Date();
    const id = await queue(
      { channel: 'sms', recipient: '+447700900126', kind: 'transactional', text: 'Your order is paid' },
      toDbTime(realNow),
    );

    const victim = spawnChild({
      mode: 'claim-and-hang',
      database: database.target,
      workerId: 'process-killed',
      twilio: { apiBase: sandbox.url, ...account, from: SMS_FROM },
      leaseMs: 60_000,
    });
    await until(() => sandbox.control.requests().length === 1);
    expect(await row(id)).toMatchObject({ status: 'sending', claimed_by: 'process-killed', attempts: 1 });
    victim.child.kill('SIGKILL');
    expect((await victim.exited).signal).toBe('SIGKILL');
    // The lease ran from the hand-off, before the kill (however slowly the process started).
    const killedAt = new Date();
    expect(sandbox.control.messages()).toHaveLength(0);

    // Restarted at once: the dead process's lease still holds, so nothing is sent twice meanwhile.
    const sender = createTwilioSmsSender({ apiBase: sandbox.url, ...account, from: SMS_FROM });
    now = new Date(realNow.getTime() + 5_000);
    expect(await worker({ sms: sender }).drainOnce()).toBe(0);
    expect((await row(id)).status).toBe('sending');

    now = new Date(killedAt.getTime() + 65_000);
    expect(await worker({ sms: sender }).drainOnce()).toBe(1);
    expect(sandbox.control.messages()).toHaveLength(1);
    expect(await row(id)).toMatchObject({ status: 'sent', attempts: 2, claimed_by: 'test-worker' });
    now = new Date(killedAt.getTime() + 3_600_000);
    expect(await worker({ sms: sender }).drainOnce()).toBe(0);
    expect(sandbox.control.messages()).toHaveLength(1);
    expect(logLines.join('')).toContain('took back messages whose worker stopped mid-send');
  });

  it.skipIf(skip)(
    'the app killed after payment and before sending: the confirmation goes out after restart, once',
    { timeout: 60_000 },
    async () => {
      const smtp = await startSmtp();
      const app = spawnChild({ mode: 'pay-and-die', database: database.target, email: 'buyer@example.com' });
      const { orderId, outboxId } = JSON.parse(await app.line((l) => l.startsWith('{'))) as { orderId: number; outboxId: number };
      expect((await app.exited).signal).toBe('SIGKILL');

      const order = await db().selectFrom('orders').select(['status']).where('id', '=', orderId).executeTakeFirstOrThrow();
      expect(order.status).toBe('paid');
      expect(await row(outboxId)).toMatchObject({ status: 'pending', attempts: 0, order_id: orderId, recipient: 'buyer@example.com' });

      now = new Date(Date.now() + 1000);
      const restarted = worker({ email: smtpSender(smtp.url) });
      expect(await restarted.drainOnce()).toBe(1);
      expect(smtp.received.map((m) => m.envelopeTo)).toEqual([['buyer@example.com']]);
      expect(await row(outboxId)).toMatchObject({ status: 'sent', attempts: 1 });
      expect(await restarted.drainOnce()).toBe(0);
      expect(smtp.received).toHaveLength(1);
    },
  );

  it.skipIf(skip)('two app processes draining one outbox send each of 200 messages exactly once', { timeout: 120_000 }, async () => {
    const smtp = await startSmtp();
    const total = 200;
    const at = toDbTime(new Date());
    await db()
      .transaction()
      .execute(async (tx) => {
        for (let i = 1; i <= total; i++) await queueMessage(tx, email(i, { subject: `Message ${i}` }), at);
      });

    const children = ['process-a', 'process-b'].map((workerId) =>
      spawnChild({ mode: 'drain', database: database.target, workerId, smtpUrl: smtp.url, batchSize: 10 }),
    );
    await Promise.all(children.map((c) => c.line((l) => l === 'ready')));
    for (const c of children) c.child.stdin.write('go\n');
    const results = await Promise.all(
      children.map(async (c) => JSON.parse(await c.line((l) => l.startsWith('{'), 90_000)) as { handled: number; sent: number }),
    );
    await Promise.all(children.map((c) => c.exited));

    await smtp.waitFor(total);
    const subjects = smtp.received.map((m) => m.parsed.subject);
    expect(subjects).toHaveLength(total);
    expect(new Set(subjects).size).toBe(total);
    expect(new Set(smtp.received.map((m) => m.parsed.messageId)).size).toBe(total);
    expect(results.reduce((sum, r) => sum + r.sent, 0)).toBe(total);

    const rows = await db().selectFrom('outbox').select(['status', 'attempts', 'claimed_by']).execute();
    expect(rows.every((r) => r.status === 'sent' && r.attempts === 1)).toBe(true);
    // Both processes took part (they started together on one signal), and neither sent what the other did.
    const byWorker = new Map<string, number>();
    for (const r of rows) byWorker.set(r.claimed_by!, (byWorker.get(r.claimed_by!) ?? 0) + 1);
    expect([...byWorker.keys()].sort()).toEqual(['process-a', 'process-b']);
    expect(results.map((r) => r.sent).sort()).toEqual([byWorker.get('process-a'), byWorker.get('process-b')].sort());
  });

  it.skipIf(skip)('sends transactional and service messages whatever the marketing choice, marketing only with consent', async () => {
    const smtp = await startSmtp();
    const at = toDbTime(now);
    const customer = async (emailAddress: string, optIn: number) =>
      Number(
        (
          await db()
            .insertInto('customers')
            .values({ email: emailAddress, msisdn: null, marketing_opt_in: optIn, marketing_choice_at: at, created_at: at, updated_at: at })
            .executeTakeFirstOrThrow()
        ).insertId,
      );
    const optedOut = await customer(`out-${kind}-${Date.now()}@example.com`, 0);
    const optedIn = await customer(`in-${kind}-${Date.now()}@example.com`, 1);
    const ids = {
      confirmation: await queue(
        email('t', { recipient: 'out@example.com', customerId: optedOut, kind: 'transactional', subject: 'Order confirmation' }),
      ),
      notice: await queue(email('s', { recipient: 'out@example.com', customerId: optedOut, kind: 'service', subject: 'Service notice' })),
      offer: await queue(
        email('m', { recipient: 'out@example.com', customerId: optedOut, kind: 'marketing', subject: 'Offer (opted out)' }),
      ),
      welcomeOffer: await queue(
        email('m2', { recipient: 'in@example.com', customerId: optedIn, kind: 'marketing', subject: 'Offer (opted in)' }),
      ),
    };
    expect(await worker({ email: smtpSender(smtp.url) }).drainOnce()).toBe(4);
    expect(smtp.received.map((m) => m.parsed.subject).sort()).toEqual(['Offer (opted in)', 'Order confirmation', 'Service notice']);
    expect(await row(ids.offer)).toMatchObject({
      status: 'failed',
      attempts: 1,
      last_error: expect.stringContaining('not opted in to marketing'),
    });
  });

  it.skipIf(skip)('keeps recipients and bodies out of the log and out of last_error', async () => {
    const smtp = await startSmtp(undefined, { rejectRecipients: /^gone\./ });
    const refused = await queue(
      email('x', { recipient: 'gone.fan@example.com', text: 'Your code is SECRET-4242', html: '<p>SECRET-4242</p>' }),
    );
    const delivered = await queue(email('y', { recipient: 'kept.fan@example.com', text: 'Your code is SECRET-5151' }));
    const { sandbox, sender } = await startTwilio();
    sandbox.control.failNext('http500');
    const texted = await queue({ channel: 'sms', recipient: '+447700900127', kind: 'transactional', text: 'Code SECRET-6161' });

    expect(await worker({ email: smtpSender(smtp.url), sms: sender }).drainOnce()).toBe(3);
    const refusedRow = await row(refused);
    expect(refusedRow.status).toBe('failed'); // a 550 for the recipient is permanent
    expect(refusedRow.last_error).toMatch(/RCPT TO 550/);
    expect(refusedRow.last_error).not.toContain('gone.fan@example.com');
    expect((await row(delivered)).status).toBe('sent');
    expect((await row(texted)).status).toBe('pending');

    const log = logLines.join('');
    expect(log).toContain(`"outboxId":${refused}`);
    expect(log).toContain('message sent');
    for (const secret of ['gone.fan@example.com', 'kept.fan@example.com', '+447700900127', 'SECRET-4242', 'SECRET-5151', 'SECRET-6161'])
      expect(log).not.toContain(secret);
  });

  it.skipIf(skip)('stop() waits for the send in flight and records it', async () => {
    let release!: () => void;
    let started!: () => void;
    const sendStarted = new Promise<void>((resolve) => (started = resolve));
    const slow: EmailSender = {
      kind: 'smtp',
      send: () => {
        started();
        return new Promise<void>((resolve) => (release = resolve));
      },
      close() {},
    };
    const id = await queue(email(5));
    const outbox = worker({ email: slow }, { pollMs: 10 });
    outbox.start();
    await sendStarted;
    let stopped = false;
    const stopping = outbox.stop().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(await row(id)).toMatchObject({ status: 'sent', attempts: 1 });
  });

  it.skipIf(skip)('claims due rows in index order without touching rows that are not due', async () => {
    const early = await queue(email(6), toDbTime(new Date(now.getTime() - 60_000)));
    const due = await queue(email(7));
    const future = await queue(email(8), toDbTime(new Date(now.getTime() + 60_000)));
    const smtp = await startSmtp();
    expect(await worker({ email: smtpSender(smtp.url) }, { batchSize: 1 }).drainOnce()).toBe(2);
    expect(smtp.received.map((m) => m.parsed.subject)).toEqual(['Your order 6 is paid', 'Your order 7 is paid']);
    expect((await row(early)).status).toBe('sent');
    expect((await row(due)).status).toBe('sent');
    expect((await row(future)).status).toBe('pending');
    const count = await db()
      .selectFrom('outbox')
      .select(sql<number>`count(*)`.as('n'))
      .where('status', '=', 'sent')
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(2);
  });
});
