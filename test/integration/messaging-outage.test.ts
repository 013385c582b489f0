import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmailSender } from '../../src/notifications/email.js';
import { createTwilioSmsSender } from '../../src/notifications/sms.js';
import { createOutboxWorker, type OutboxWorker } from '../../src/notifications/worker.js';
import { newStandInAccount, startTwilioSandbox } from '../../sandbox/twilio/index.js';
import { createLogger } from '../../src/web/logging.js';
import { databaseKinds } from '../helpers/databases.js';
import { payAtStandIn, waitFor } from '../helpers/payforit.js';
import { Shopper } from '../helpers/shopper.js';
import { freePort, startSmtpServer, type TestSmtpServer } from '../helpers/smtp.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

/** Short, exact back-off (0.3 s, 0.6 s, 1.2 s, then 1.5 s) so an outage of a few seconds costs a few tries. */
const BACKOFF = { baseMs: 300, maxMs: 1500, jitter: 0 };
const EMAIL = 'outage-fan@example.com';
const MOBILE = '447700900123';

/**
 * The mail server and the SMS gateway both away while orders are paid: the confirmations wait in
 * the outbox, retried with back-off, and go out once each when the services return. Nothing
 * listens on their ports during the outage (connection refused), as when a server is down.
 */
describe.each(databaseKinds())('SMTP and SMS gateway outage on $kind', ({ kind, skip }) => {
  let store: TestStore;
  let worker: OutboxWorker;
  let smtpPort: number;
  let smsPort: number;
  let smtp: TestSmtpServer | undefined;
  let sms: Awaited<ReturnType<typeof startTwilioSandbox>> | undefined;
  const account = newStandInAccount();

  beforeAll(async () => {
    if (skip) return;
    store = await startTestStore(kind);
    smtpPort = await freePort();
    smsPort = await freePort();
    worker = createOutboxWorker({
      db: store.database.db,
      senders: {
        email: createEmailSender({
          smtpUrl: `smtp://127.0.0.1:${smtpPort}`,
          from: store.config.mail.from,
          mailDir: store.config.mail.folder,
        }),
        sms: createTwilioSmsSender({ apiBase: `http://127.0.0.1:${smsPort}`, ...account, from: 'NLMusic', timeoutMs: 2000 }),
      },
      logger: createLogger('silent'),
      pollMs: 50,
      backoff: BACKOFF,
    });
    worker.start();
  });
  afterAll(async () => {
    await worker?.stop();
    await sms?.close();
    await smtp?.close();
    await store?.close();
  });

  const db = () => store.database.db;
  const buy = async (method: 'paypal' | 'payforit') => {
    const release = await db().selectFrom('releases').select(['id', 'slug']).orderBy('id').executeTakeFirstOrThrow();
    const shopper = new Shopper(store.baseUrl);
    await shopper.get(`/release/${release.slug}`);
    await shopper.post('/basket/add', {
      kind: 'track',
      id: String((await db().selectFrom('tracks').select('id').where('release_id', '=', release.id).executeTakeFirstOrThrow()).id),
    });
    await shopper.get('/checkout');
    const started = await shopper.post('/checkout', { method, adult: 'yes' });
    expect(started.status).toBe(303);
    let back: string;
    if (method === 'paypal') {
      back = store.paypal.control.approve(new URL(started.location!).searchParams.get('token')!, { email: EMAIL }).redirectUrl!;
    } else {
      back = (await payAtStandIn(started.location!, { msisdn: '07700 900123' })).returnUrl!;
    }
    const page = await shopper.follow(await shopper.get(back));
    expect(page.html.querySelector('h1')!.text).toContain('your order is paid');
  };
  const confirmations = () => db().selectFrom('outbox').selectAll().where('order_id', 'is not', null).orderBy('id').execute();

  it.skipIf(skip)('confirmations wait while both are down, then go out once each when they return', { timeout: 60_000 }, async () => {
    await buy('paypal');
    await buy('payforit');
    // Down: each message is tried, fails, and is put back with a later next try.
    const waiting = await waitFor(
      'both confirmations tried at least twice',
      async () => {
        const rows = await confirmations();
        return rows.length === 2 && rows.every((r) => r.status === 'pending' && r.attempts >= 2) && rows;
      },
      20_000,
    );
    expect(waiting.map((r) => [r.channel, r.recipient])).toEqual([
      ['email', EMAIL],
      ['sms', `+${MOBILE}`],
    ]);
    for (const row of waiting) {
      // The next try is after the last failure (times are whole seconds, and the back-off here is shorter).
      expect(row.next_attempt_at >= row.updated_at).toBe(true);
      expect(row.claimed_by).toBeNull();
      expect(row.last_error).toBeTruthy();
      // The reason is kept; the recipient is not repeated in it.
      expect(row.last_error).not.toContain(row.recipient);
      expect(row.sent_at).toBeNull();
    }

    // Back: the same ports, a real SMTP server and the gateway stand-in with the same account.
    smtp = await startSmtpServer(smtpPort);
    sms = await startTwilioSandbox({ ...account, port: smsPort, host: '127.0.0.1' });
    const sent = await waitFor(
      'both confirmations sent',
      async () => {
        const rows = await confirmations();
        return rows.every((r) => r.status === 'sent') && rows;
      },
      20_000,
    );
    // Several back-off periods later, still one of each.
    await new Promise((r) => setTimeout(r, 2 * BACKOFF.maxMs));
    expect(smtp.received.filter((m) => m.envelopeTo.includes(EMAIL))).toHaveLength(1);
    expect(sms.control.messages().filter((m) => m.to === `+${MOBILE}`)).toHaveLength(1);
    expect(sent.every((r) => r.attempts >= 3 && r.sent_at !== null && r.last_error === null)).toBe(true);
    const order = await db().selectFrom('orders').select('reference').where('id', '=', sent[0]!.order_id!).executeTakeFirstOrThrow();
    expect(smtp.received[0]!.parsed.subject).toContain(order.reference);
    expect((await confirmations()).map((r) => r.status)).toEqual(['sent', 'sent']);
  });
});
