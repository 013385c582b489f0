import { startPayPalSandbox } from '../sandbox/paypal/index.js';
import { expectStatus, percentiles, VirtualShopper } from './lib/client.js';
import { startSmtpSink } from './lib/smtp-sink.js';
import { benchBuilds, startStore, withBenchDatabase, type Build } from './lib/store.js';

/**
 * The whole purchase, over HTTP, by concurrent virtual shoppers: release page, add to basket,
 * checkout, PayPal (the stand-in, in this process, as PayPal is outside the shop), return, paid
 * order page. An order counts when its page says it is paid; afterwards the database must hold
 * every one of them paid, with its confirmation in the outbox.
 */
const SHOPPERS = Number(process.env.BENCH_SHOPPERS ?? 16);
const SECONDS = Number(process.env.BENCH_PURCHASE_SECONDS ?? 15);
/** BENCH_PORT moves the store (two benches at once on one machine). */
const PORT = Number(process.env.BENCH_PORT ?? 3903);
const ACCOUNT = { clientId: 'bench-client', clientSecret: 'bench-secret', webhookId: 'BENCHWEBHOOK' };

type Release = { id: number; slug: string };

/** Milliseconds per step of every order, to show where an order's time goes. */
const stepTimes = new Map<string, number[]>();

async function step<T>(name: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  const times = stepTimes.get(name) ?? [];
  times.push(performance.now() - started);
  stepTimes.set(name, times);
  return result;
}

async function buyOnce(
  baseUrl: string,
  paypal: Awaited<ReturnType<typeof startPayPalSandbox>>,
  release: Release,
  email: string,
): Promise<void> {
  const shopper = new VirtualShopper(baseUrl);
  await step('release page', async () => expectStatus(await shopper.get(`/release/${release.slug}`), 200, 'release page'));
  await step('add to basket', async () =>
    expectStatus(await shopper.post('/basket/add', { kind: 'release', id: String(release.id) }), 303, 'add to basket'),
  );
  await step('checkout page', async () => expectStatus(await shopper.get('/checkout'), 200, 'checkout page'));
  const toPayPal = await step('checkout (creates the PayPal order)', async () =>
    expectStatus(await shopper.post('/checkout', { method: 'paypal', adult: 'yes' }), 303, 'checkout'),
  );
  // What the buyer does on PayPal's own pages: outside the shop, so done directly on the stand-in.
  const { redirectUrl } = paypal.control.approve(new URL(toPayPal.location!).searchParams.get('token')!, { email });
  const back = await step('return (captures, marks paid)', async () =>
    expectStatus(await shopper.get(redirectUrl!), 303, 'return from PayPal'),
  );
  const order = await step('order page', async () => expectStatus(await shopper.get(back.location!), 200, 'order page'));
  if (!order.text.includes('paid')) throw new Error('the order page does not say paid');
}

/** The purchase on each build (tsx, and the compiled one when built), one after the other. */
export async function benchPurchase(databaseUrl: string, log: (m: string) => void) {
  const runs = [];
  for (const build of benchBuilds()) {
    log(`  ${build}:`);
    runs.push({ build, ...(await purchaseOn(build, databaseUrl, log)) });
  }
  return { runs };
}

async function purchaseOn(build: Build, databaseUrl: string, log: (m: string) => void) {
  const releases = await withBenchDatabase(databaseUrl, ({ db }) =>
    db.selectFrom('releases').select(['id', 'slug']).where('id', '<=', 2000).orderBy('id').execute(),
  );
  const startedAt = await withBenchDatabase(databaseUrl, async ({ db }) =>
    Number(
      (
        await db
          .selectFrom('orders')
          .select((eb) => eb.fn.max<number>('id').as('n'))
          .executeTakeFirst()
      )?.n ?? 0,
    ),
  );
  const paypal = await startPayPalSandbox({
    ...ACCOUNT,
    webhookUrl: `http://127.0.0.1:${PORT}/webhooks/paypal`,
    port: 0,
    host: '127.0.0.1',
  });
  const smtp = await startSmtpSink();
  const store = await startStore({ port: PORT, databaseUrl, build, paypal: { apiBase: paypal.url, ...ACCOUNT }, smtpUrl: smtp.url });
  const baseUrl = `http://127.0.0.1:${PORT}`;
  let next = 0;
  const pick = () => releases[next++ % releases.length]!;
  const email = () => `bench-${Date.now().toString(36)}-${next}@example.com`;
  try {
    log('  warm-up...');
    await Promise.all(Array.from({ length: 4 }, () => buyOnce(baseUrl, paypal, pick(), email())));
    store.resetPeakRss();
    stepTimes.clear();
    const cpuBefore = store.cpuMs();
    log(`  ${SHOPPERS} shoppers for ${SECONDS} s...`);
    const times: number[] = [];
    const started = performance.now();
    const end = started + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: SHOPPERS }, async () => {
        while (performance.now() < end) {
          const t = performance.now();
          await buyOnce(baseUrl, paypal, pick(), email());
          times.push(performance.now() - t);
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    const rss = store.peakRssMb();
    // The store's own CPU per paid order, end to end (its pages, the PayPal calls, the webhooks it takes, the confirmation its worker sends meanwhile).
    const cpuPerOrder = (store.cpuMs() - cpuBefore) / times.length;
    const check = await withBenchDatabase(databaseUrl, async ({ db }) => {
      const paid = await db
        .selectFrom('orders')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('id', '>', startedAt)
        .where('status', '=', 'paid')
        .executeTakeFirstOrThrow();
      const queued = await db
        .selectFrom('outbox')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('order_id', '>', startedAt)
        .executeTakeFirstOrThrow();
      return { paid: Number(paid.n), confirmations: Number(queued.n) };
    });
    const expected = times.length + 4;
    if (check.paid !== expected || check.confirmations < expected)
      throw new Error(`expected ${expected} paid orders with confirmations, found ${check.paid} paid and ${check.confirmations} messages`);
    return {
      shoppers: SHOPPERS,
      seconds: Number(elapsed.toFixed(1)),
      orders: times.length,
      orders_per_s: Number((times.length / elapsed).toFixed(1)),
      order_p50_ms: percentiles(times).p50,
      order_p99_ms: percentiles(times).p99,
      store_cpu_ms_per_order: Number(cpuPerOrder.toFixed(1)),
      http_requests_per_order: 6,
      step_p50_ms: Object.fromEntries([...stepTimes].map(([name, times]) => [name, percentiles(times).p50])),
      confirmations_sent_meanwhile: smtp.received(),
      peak_rss_mb: rss,
    };
  } finally {
    await store.stop();
    await paypal.close();
    await smtp.close();
  }
}
