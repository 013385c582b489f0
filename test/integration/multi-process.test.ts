import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toDbTime } from '../../src/db/dialect.js';
import { queueMessage } from '../../src/notifications/outbox.js';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { startFleet, type Fleet } from '../helpers/fleet.js';
import { waitFor } from '../helpers/payforit.js';
import type { ServerProcess } from '../helpers/server-process.js';
import { Shopper } from '../helpers/shopper.js';

const CONTACT_LIMIT = 3;

/**
 * Two real store processes on one database, as behind a reverse proxy: whatever one process
 * writes (a session, a basket, a payment, a rate-limit count, a message to send) the other sees.
 * MySQL is the production case. SQLite runs too: WAL and a busy timeout let several processes on
 * one machine share the file, and the outbox claim is a conditional UPDATE only one can win.
 */
describe.each(databaseKinds())('two store processes on one $kind database', ({ kind, skip }) => {
  let database: TestDatabase;
  let fleet: Fleet;
  let a: ServerProcess;
  let b: ServerProcess;
  let release: { id: number; title: string; slug: string; tracks: number };

  beforeAll(async () => {
    if (skip) return;
    database = await createTestDatabase(kind);
    fleet = await startFleet({ database, processes: 2, env: { CONTACT_LIMIT_PER_CLIENT: String(CONTACT_LIMIT) } });
    [a, b] = await Promise.all([fleet.start(0), fleet.start(1)]);
    const row = await database.db.selectFrom('releases').select(['id', 'title', 'slug']).orderBy('id').executeTakeFirstOrThrow();
    const tracks = await database.db
      .selectFrom('tracks')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('release_id', '=', row.id)
      .executeTakeFirstOrThrow();
    release = { ...row, tracks: Number(tracks.n) };
  }, 180_000);
  afterAll(async () => {
    // Each process should stop cleanly on SIGTERM; its output must hold no stack trace.
    const outputs = [a, b].filter(Boolean).map((p) => p.output());
    await Promise.all([a?.stop(), b?.stop()]);
    await fleet?.close();
    await database?.drop();
    for (const output of outputs) expect(output).not.toMatch(/\n\s+at .*\.ts:\d+/);
  });

  const db = () => database.db;
  /** The same browser (its session cookie) pointed at the other process. */
  const sameBrowserOn = (server: ServerProcess, from: Shopper) => {
    const other = new Shopper(server.url);
    other.setCookie('sid', from.cookie('sid')!);
    return other;
  };
  const orderOf = (paypalOrderId: string) =>
    db()
      .selectFrom('payments')
      .innerJoin('orders', 'orders.id', 'payments.order_id')
      .selectAll('orders')
      .where('payments.provider_ref', '=', paypalOrderId)
      .executeTakeFirstOrThrow();
  const paidEvents = async (orderId: number) =>
    Number(
      (
        await db()
          .selectFrom('order_events')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('order_id', '=', orderId)
          .where('to_status', '=', 'paid')
          .executeTakeFirstOrThrow()
      ).n,
    );
  const confirmations = (orderId: number) =>
    db().selectFrom('outbox').select(['id', 'status', 'recipient']).where('order_id', '=', orderId).execute();
  const mailsTo = (email: string) => fleet.smtp.received.filter((m) => m.envelopeTo.includes(email));

  /** Fills a basket on `on`, checks out on `checkoutOn`; returns both browsers and the PayPal order id. */
  const basketAndCheckout = async (on: ServerProcess, checkoutOn: ServerProcess) => {
    const first = new Shopper(on.url);
    await first.get(`/release/${release.slug}`);
    expect((await first.post('/basket/add', { kind: 'release', id: String(release.id) })).status).toBe(303);
    const second = sameBrowserOn(checkoutOn, first);
    const basket = await second.get('/basket');
    expect(basket.status).toBe(200);
    expect(basket.text).toContain(release.title);
    await second.get('/checkout');
    const started = await second.post('/checkout', { method: 'paypal', adult: 'yes' });
    expect(started.status).toBe(303);
    const approve = new URL(started.location!);
    expect(approve.origin).toBe(fleet.paypal.url);
    return { first, second, paypalOrderId: approve.searchParams.get('token')! };
  };

  it.skipIf(skip)('a basket filled on one process checks out on the other; the session signed in on one works on the other', async () => {
    const email = `fan-${kind}@example.com`;
    const { first, paypalOrderId } = await basketAndCheckout(a, b);
    // PayPal sends the browser back to the process it left from (B); the balancer sends it to A.
    const { redirectUrl } = fleet.paypal.control.approve(paypalOrderId, { email });
    const back = new URL(redirectUrl!);
    const returned = await first.get(`${a.url}${back.pathname}${back.search}`);
    expect(returned.status).toBe(303);
    const page = await first.follow(returned);
    expect(page.html.querySelector('h1')!.text).toContain('your order is paid');
    const order = await orderOf(paypalOrderId);
    expect(order.status).toBe('paid');
    expect(await paidEvents(order.id)).toBe(1);
    const entitlements = await db().selectFrom('entitlements').select('track_id').where('order_id', '=', order.id).execute();
    expect(entitlements).toHaveLength(release.tracks);
    await waitFor('the confirmation email', () => mailsTo(email).length === 1, 15_000);

    // Sign in on A with the emailed code, typed on B: the session is one row both read.
    const onA = new Shopper(a.url);
    await onA.get('/account');
    expect((await onA.post('/account/sign-in', { contact: email })).location).toBe('/account/code');
    await waitFor('the sign-in code email', () => mailsTo(email).length === 2, 15_000);
    const code = /\b(\d{6})\b/.exec(mailsTo(email).at(-1)!.parsed.text!)![1]!;
    const onB = sameBrowserOn(b, onA);
    await onB.get('/account/code');
    const signedIn = await onB.post('/account/code', { code });
    expect(signedIn.status).toBe(303);
    // Signing in regenerated the session; the new cookie came from B. A reads it.
    const backOnA = sameBrowserOn(a, onB);
    const music = await backOnA.get('/account/music');
    expect(music.status).toBe(200);
    expect(music.text).toContain(release.title);
    // And no process sent the confirmation twice.
    await new Promise((r) => setTimeout(r, 500));
    expect(await confirmations(order.id)).toHaveLength(1);
    expect(mailsTo(email).filter((m) => m.parsed.subject?.includes(order.reference))).toHaveLength(1);
  });

  it.skipIf(skip)('a PayPal notification applied on one process and replayed to the other applies once', async () => {
    const { paypalOrderId } = await basketAndCheckout(b, b);
    fleet.paypal.control.approve(paypalOrderId, { email: `webhook-${kind}@example.com` });
    // The shopper never comes back: the approval webhook goes to A, which captures and settles.
    const sent = await fleet.paypal.control.sendWebhook('CHECKOUT.ORDER.APPROVED', paypalOrderId);
    expect(sent.response?.status).toBe(200);
    const order = await waitFor('the order paid by the webhook', async () => {
      const o = await orderOf(paypalOrderId);
      return o.status === 'paid' && o;
    });
    await fleet.paypal.control.webhooksSettled();
    // The same transmission, byte for byte, delivered to B.
    const headers = Object.fromEntries(
      Object.entries(sent.headers).filter(([name]) => !['host', 'content-length', 'connection'].includes(name.toLowerCase())),
    );
    const replay = await fetch(`${b.url}/webhooks/paypal`, { method: 'POST', headers, body: sent.body });
    expect(replay.status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(await paidEvents(order.id)).toBe(1);
    const payments = await db().selectFrom('payments').select(['status', 'capture_ref']).where('order_id', '=', order.id).execute();
    expect(payments).toHaveLength(1);
    expect(payments[0]!.capture_ref).toBeTruthy();
    const captures = fleet.paypal.control
      .requests()
      .filter((r) => r.method === 'POST' && r.path === `/v2/checkout/orders/${paypalOrderId}/capture`);
    expect(captures).toHaveLength(1);
    expect(await confirmations(order.id)).toHaveLength(1);
    const events = await db().selectFrom('provider_events').select('event_id').where('event_id', '=', sent.event.id).execute();
    expect(events).toHaveLength(1);
  });

  it.skipIf(skip)('both processes drain one outbox and send each message exactly once', { timeout: 120_000 }, async () => {
    const now = toDbTime(new Date());
    const ids: number[] = [];
    for (let i = 0; i < 80; i++) {
      ids.push(
        await queueMessage(
          db(),
          {
            channel: 'email',
            recipient: `drain-${i}@example.com`,
            kind: 'transactional',
            subject: `drain ${kind} ${i}`,
            text: `message ${i}`,
          },
          now,
        ),
      );
      ids.push(
        await queueMessage(
          db(),
          { channel: 'sms', recipient: `+4477009${String(10000 + i)}`, kind: 'transactional', text: `drain ${kind} ${i}` },
          now,
        ),
      );
    }
    const sentRows = await waitFor(
      'every message sent',
      async () => {
        const rows = await db().selectFrom('outbox').select(['id', 'status', 'claimed_by', 'attempts']).where('id', 'in', ids).execute();
        return rows.every((r) => r.status === 'sent') && rows;
      },
      90_000,
    );
    expect(sentRows).toHaveLength(160);
    for (let i = 0; i < 80; i++) {
      expect(
        fleet.smtp.received.filter((m) => m.parsed.subject === `drain ${kind} ${i}`),
        `email ${i}`,
      ).toHaveLength(1);
      expect(
        fleet.sms.control.messages().filter((m) => m.body === `drain ${kind} ${i}`),
        `sms ${i}`,
      ).toHaveLength(1);
    }
    // Both processes took part (each names itself in claimed_by), and nothing needed a second try.
    expect(new Set(sentRows.map((r) => r.claimed_by?.split(':')[1])).size).toBe(2);
    expect(sentRows.every((r) => r.attempts === 1)).toBe(true);
  });

  it.skipIf(skip)('one rate limit across both processes, stored under a keyed hash, not the address', async () => {
    const post = async (server: ServerProcess, n: number) => {
      const visitor = new Shopper(server.url);
      await visitor.get('/contact');
      return visitor.post('/contact', { contact: `writer-${n}@example.com`, message: `Hello ${n}` });
    };
    const statuses: number[] = [];
    for (let n = 0; n < CONTACT_LIMIT + 2; n++) statuses.push((await post(n % 2 === 0 ? a : b, n)).status);
    // In memory each process would have allowed three: five posts would all have passed.
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const queued = await db().selectFrom('outbox').select('id').where('subject', 'like', '%contact form%').execute();
    expect(queued).toHaveLength(CONTACT_LIMIT);
    const rows = await db().selectFrom('rate_limits').selectAll().execute();
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row.key_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(rows)).not.toContain('127.0.0.1');
    const contactRow = rows.find((r) => Number(r.hits) === CONTACT_LIMIT + 2);
    expect(contactRow, 'one row counted all five posts').toBeDefined();
  });
});
