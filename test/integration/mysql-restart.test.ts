import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../../src/db/database.js';
import { startFleet, type Fleet } from '../helpers/fleet.js';
import { waitFor } from '../helpers/payforit.js';
import { privateMariadbUnavailable, startPrivateMariadb, type PrivateMariadb } from '../helpers/private-mariadb.js';
import type { ServerProcess } from '../helpers/server-process.js';
import { Shopper } from '../helpers/shopper.js';

const unavailable = privateMariadbUnavailable();
if (unavailable && process.env.CI === 'true') throw new Error(`CI=true but the MySQL restart test cannot run: ${unavailable}`);
if (unavailable) console.warn(`MySQL restart test skipped: ${unavailable}`);

const SHOPPERS = 3;
const OUTAGE_MS = 3000;

interface Answer {
  at: number;
  path: string;
  status: number;
  text: string;
  retryAfter?: string | null;
  contentType?: string | null;
}

/**
 * MySQL killed and restarted under load, on a private MariaDB (never the shared one other test
 * files use). While it is away every request that needs it gets a 503 "back in a moment" page
 * with Retry-After, never a 500; afterwards the same store process serves again (its pool made
 * new connections), and every order a shopper saw is in the database once.
 */
describe.skipIf(unavailable !== null)('MySQL restarted under load', () => {
  let mariadb: PrivateMariadb;
  let database: DatabaseHandle & { url: string };
  let fleet: Fleet;
  let server: ServerProcess;
  let release: { id: number; slug: string };

  beforeAll(async () => {
    mariadb = await startPrivateMariadb();
    const url = `${mariadb.serverUrl}store_restart`;
    database = { ...(await openDatabase({ kind: 'mysql', url })), url };
    await migrateToLatest(database.db);
    // PayPal retries webhooks across the outage (every 500 ms for a minute here).
    fleet = await startFleet({ database, processes: 1, webhookRetryDelaysMs: Array.from({ length: 120 }, () => 500) });
    server = await fleet.start(0);
    release = await database.db.selectFrom('releases').select(['id', 'slug']).orderBy('id').executeTakeFirstOrThrow();
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
    await fleet?.close();
    await database?.close().catch(() => undefined);
    await mariadb?.destroy();
  });

  it(
    'answers 503 with a friendly page while MySQL is away, reconnects by itself, and loses or doubles no order',
    { timeout: 120_000 },
    async () => {
      const answers: Answer[] = [];
      const created: string[] = [];
      const paid: string[] = [];
      const networkErrors: { at: number; what: string }[] = [];
      let running = true;
      const note = (path: string, page: { status: number; text: string }) =>
        answers.push({ at: Date.now(), path, status: page.status, text: page.text });

      /** A shopper buying a release, again and again: page, basket, checkout, PayPal, return. */
      async function shopperLoop(n: number) {
        while (running) {
          const shopper = new Shopper(server.url);
          try {
            const page = await shopper.get(`/release/${release.slug}`);
            note('release', page);
            if (page.status !== 200) continue;
            note('basket add', await shopper.post('/basket/add', { kind: 'release', id: String(release.id) }));
            note('checkout page', await shopper.get('/checkout'));
            const started = await shopper.post('/checkout', { method: 'paypal', adult: 'yes' });
            note('checkout', started);
            if (started.status !== 303) continue;
            const token = new URL(started.location!).searchParams.get('token')!;
            created.push(token);
            const { redirectUrl } = fleet.paypal.control.approve(token, { email: `load-${n}@example.com` });
            const back = await shopper.get(redirectUrl!);
            note('return', back);
            if (back.status === 303 && back.location?.startsWith('/orders/')) paid.push(token);
          } catch (error) {
            networkErrors.push({ at: Date.now(), what: `shopper: ${String(error)} ${String((error as Error).cause ?? '')}` });
          } finally {
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      }

      /** A visitor without a session: plain pages, with the headers kept. */
      async function browserLoop() {
        while (running) {
          try {
            const response = await fetch(`${server.url}/release/${release.slug}`);
            answers.push({
              at: Date.now(),
              path: 'visitor',
              status: response.status,
              text: await response.text(),
              retryAfter: response.headers.get('retry-after'),
              contentType: response.headers.get('content-type'),
            });
          } catch (error) {
            networkErrors.push({ at: Date.now(), what: `visitor: ${String(error)} ${String((error as Error).cause ?? '')}` });
          }
          await new Promise((r) => setTimeout(r, 20));
        }
      }

      const load = [...Array.from({ length: SHOPPERS }, (_, n) => shopperLoop(n)), browserLoop()];
      await new Promise((r) => setTimeout(r, 2000));
      const killedAt = Date.now();
      await mariadb.kill();
      await new Promise((r) => setTimeout(r, OUTAGE_MS));
      await mariadb.start();
      const restartedAt = Date.now();
      // Reconnected: the visitor's page works again within seconds, on the same process.
      const recoveredAt = await waitFor(
        'a page served after the restart',
        () => answers.find((a) => a.at > restartedAt && a.path === 'visitor' && a.status === 200)?.at,
        20_000,
      );
      await new Promise((r) => setTimeout(r, 2000));
      running = false;
      await Promise.all(load);

      const context = `killed ${killedAt}, restarted ${restartedAt}, recovered ${recoveredAt}`;
      // After the kill every request gets an answer: an answer complete before its session failed to
      // save stands, and its kept-alive connection with it (outage-keep-alive.test.ts). A request in
      // flight at the very moment of the kill was once (1 run in 3, under heavy load) still reset;
      // its cause is not yet found, so that moment keeps its old allowance.
      const dropped = networkErrors.filter((e) => e.at > killedAt + 1000);
      expect(dropped, `connections dropped after the kill; the store's log:\n${server.output().slice(-4000)}`).toEqual([]);
      expect(networkErrors.length, JSON.stringify(networkErrors)).toBeLessThanOrEqual(SHOPPERS + 1);
      expect(
        answers.filter((a) => a.status === 500),
        context,
      ).toEqual([]);
      const outage = answers.filter((a) => a.status >= 500);
      expect(outage.length, `some requests met the outage (${context})`).toBeGreaterThan(0);
      for (const answer of outage) {
        expect(answer.status).toBe(503);
        expect(answer.text).toContain('Back in a moment');
        expect(answer.text).not.toMatch(/\bat .*\(|\.ts:\d+|ECONNREFUSED|PROTOCOL_|Error:/);
        if (answer.path === 'visitor') {
          expect(answer.retryAfter).toBe('5');
          expect(answer.contentType).toMatch(/^text\/html/);
        }
      }
      // Every 503 came while MySQL was away or in the moment after (the last request in flight).
      expect(Math.max(...outage.map((a) => a.at)), context).toBeLessThanOrEqual(recoveredAt + 1000);
      // The same process throughout: nothing restarted it.
      expect(await Promise.race([server.exited.then(() => 'exited'), new Promise((r) => setTimeout(() => r('running'), 10))])).toBe(
        'running',
      );
      // After the recovery, everything works.
      const late = answers.filter((a) => a.at > recoveredAt + 1000);
      expect(
        late.filter((a) => a.status >= 500),
        context,
      ).toEqual([]);
      expect(
        late.some((a) => a.path === 'return' && a.status === 303),
        'checkouts complete again after the restart',
      ).toBe(true);

      // Let PayPal's retried webhooks and the outbox finish, then compare with what shoppers saw.
      await fleet.paypal.control.webhooksSettled();
      await waitFor(
        'the outbox to empty',
        async () => (await database.db.selectFrom('outbox').select('id').where('status', '=', 'pending').execute()).length === 0,
        30_000,
      );
      const payments = await database.db
        .selectFrom('payments')
        .innerJoin('orders', 'orders.id', 'payments.order_id')
        .select(['payments.provider_ref', 'orders.id', 'orders.status'])
        .execute();
      for (const token of created)
        expect(
          payments.filter((p) => p.provider_ref === token),
          `order behind ${token}`,
        ).toHaveLength(1);
      for (const token of paid) expect(payments.find((p) => p.provider_ref === token)!.status, `paid order behind ${token}`).toBe('paid');
      expect(new Set(payments.map((p) => p.provider_ref)).size).toBe(payments.length);
      expect(new Set(payments.map((p) => p.id)).size).toBe(payments.length);
      // Money taken at PayPal is always a paid order, with one paid event and one confirmation.
      const captured = (fleet.paypal.control.orders() as unknown as { id: string; status: string }[])
        .filter((o) => o.status === 'COMPLETED')
        .map((o) => o.id);
      for (const ref of captured) {
        const order = payments.find((p) => p.provider_ref === ref);
        expect(order?.status, `captured ${ref}`).toBe('paid');
        const events = await database.db
          .selectFrom('order_events')
          .select('id')
          .where('order_id', '=', order!.id)
          .where('to_status', '=', 'paid')
          .execute();
        expect(events).toHaveLength(1);
        expect(await database.db.selectFrom('outbox').select('id').where('order_id', '=', order!.id).execute()).toHaveLength(1);
      }
      expect(payments.filter((p) => p.status === 'paid').length).toBe(captured.length);
      console.info(
        `mysql-restart: ${answers.length} answers, ${outage.length} were 503 during a ${OUTAGE_MS} ms outage; recovered ${recoveredAt - restartedAt} ms after the restart; ${created.length} orders placed, ${captured.length} paid`,
      );
    },
  );
});
