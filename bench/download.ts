import fs from 'node:fs';
import path from 'node:path';
import { startPayPalSandbox } from '../sandbox/paypal/index.js';
import { expectStatus, VirtualShopper } from './lib/client.js';
import { mp3OfSize } from './lib/mp3.js';
import { startChild, type Child } from './lib/processes.js';
import { DATA_DIR, startStore, withBenchDatabase } from './lib/store.js';

/**
 * A 10 MB track, bought through the store and downloaded by its signed-in buyer over the store's
 * download route (ownership checked and the download logged on every request), against Node's
 * own file streaming of the same file: MB/s with the same number of concurrent downloads.
 */
const MB = 2 ** 20;
const FILE_MB = Number(process.env.BENCH_DOWNLOAD_MB ?? 10);
const CONCURRENCY = Number(process.env.BENCH_DOWNLOADS ?? 8);
const SECONDS = Number(process.env.BENCH_DOWNLOAD_SECONDS ?? 6);
const ROUNDS = 2;
const PORT = 3904;
const BARE_PORT = 3905;
const TRACK_ID = 99;
const ACCOUNT = { clientId: 'bench-client', clientSecret: 'bench-secret', webhookId: 'BENCHWEBHOOK' };

/** Puts a real 10 MB MP3 where the bench catalogue says track 99's file is. */
async function placeTrackFile(databaseUrl: string): Promise<{ file: string; releaseSlug: string }> {
  const track = await withBenchDatabase(databaseUrl, ({ db }) =>
    db
      .selectFrom('tracks')
      .innerJoin('releases', 'releases.id', 'tracks.release_id')
      .select(['tracks.media_file', 'releases.slug'])
      .where('tracks.id', '=', TRACK_ID)
      .executeTakeFirstOrThrow(),
  );
  const file = path.resolve(DATA_DIR, 'media', track.media_file);
  if (!fs.existsSync(file) || Math.abs(fs.statSync(file).size - FILE_MB * MB) > MB / 2) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, mp3OfSize(FILE_MB * MB, { title: 'Bench download', artist: 'Bench Artist' }));
  }
  return { file, releaseSlug: track.slug };
}

/** Buys the track with PayPal (the stand-in) and signs in with the link in the confirmation, as a customer would. */
export async function signedInBuyer(
  baseUrl: string,
  databaseUrl: string,
  releaseSlug: string,
  paypal: Awaited<ReturnType<typeof startPayPalSandbox>>,
  trackId = TRACK_ID,
): Promise<VirtualShopper> {
  const shopper = new VirtualShopper(baseUrl);
  expectStatus(await shopper.get(`/release/${releaseSlug}`), 200, 'release page');
  expectStatus(await shopper.post('/basket/add', { kind: 'track', id: String(trackId) }), 303, 'add to basket');
  expectStatus(await shopper.get('/checkout'), 200, 'checkout page');
  const toPayPal = expectStatus(await shopper.post('/checkout', { method: 'paypal', adult: 'yes' }), 303, 'checkout');
  const { redirectUrl } = paypal.control.approve(new URL(toPayPal.location!).searchParams.get('token')!, {
    email: `downloader-${Date.now()}@example.com`,
  });
  const back = expectStatus(await shopper.get(redirectUrl!), 303, 'return from PayPal');
  const reference = back.location!.split('/').pop()!;
  const message = await withBenchDatabase(databaseUrl, ({ db }) =>
    db
      .selectFrom('outbox')
      .innerJoin('orders', 'orders.id', 'outbox.order_id')
      .select('outbox.body_text')
      .where('orders.reference', '=', reference)
      .executeTakeFirstOrThrow(),
  );
  const link = /\/account\/link\/[^\s"<]+/.exec(message.body_text)?.[0];
  if (!link) throw new Error('no sign-in link in the confirmation');
  expectStatus(await shopper.get(link), 303, 'sign-in link');
  return shopper;
}

async function throughput(shopper: VirtualShopper, urlPath: string, expectedBytes: number) {
  const first = await shopper.download(urlPath); // warm-up, and a check of what is sent
  if (first.status !== 200 || first.bytes !== expectedBytes)
    throw new Error(`${urlPath}: ${first.status}, ${first.bytes} bytes instead of ${expectedBytes}`);
  let bytes = 0;
  let count = 0;
  const started = performance.now();
  const end = started + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const answer = await shopper.download(urlPath);
        if (answer.status !== 200 || answer.bytes !== expectedBytes) throw new Error(`${urlPath}: ${answer.status}, ${answer.bytes} bytes`);
        bytes += answer.bytes;
        count++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { mb_per_s: Number((bytes / MB / seconds).toFixed(1)), downloads: count };
}

export async function benchDownload(databaseUrl: string, log: (m: string) => void) {
  const { file, releaseSlug } = await placeTrackFile(databaseUrl);
  const size = fs.statSync(file).size;
  const paypal = await startPayPalSandbox({ ...ACCOUNT, port: 0, host: '127.0.0.1' });
  let store: Child | undefined;
  let bare: Child | undefined;
  try {
    store = await startStore({ port: PORT, databaseUrl, paypal: { apiBase: paypal.url, ...ACCOUNT } });
    const buyer = await signedInBuyer(`http://127.0.0.1:${PORT}`, databaseUrl, releaseSlug, paypal);
    bare = await startChild('bench/bare-download.ts', [file, String(BARE_PORT)], process.env, `http://127.0.0.1:${BARE_PORT}/`);
    const plain = new VirtualShopper(`http://127.0.0.1:${BARE_PORT}`);
    // Store and baseline take turns, twice each, so a change in the machine's other load falls on both.
    log(
      `  ${CONCURRENCY} concurrent downloads of ${(size / MB).toFixed(1)} MB, ${SECONDS} s at a time: store, plain Node, store, plain Node...`,
    );
    store.resetPeakRss();
    bare.resetPeakRss();
    const rounds = [];
    for (let i = 0; i < ROUNDS; i++)
      rounds.push({
        ours: await throughput(buyer, `/download/track/${TRACK_ID}`, size),
        baseline: await throughput(plain, '/file.mp3', size),
      });
    const rss = store.peakRssMb();
    const mean = (values: number[]) => Number((values.reduce((a, b) => a + b, 0) / values.length).toFixed(1));
    const ours = { mb_per_s: mean(rounds.map((r) => r.ours.mb_per_s)), downloads: rounds.reduce((n, r) => n + r.ours.downloads, 0) };
    const baseline = { mb_per_s: mean(rounds.map((r) => r.baseline.mb_per_s)) };
    return {
      file_mb: Number((size / MB).toFixed(1)),
      concurrency: CONCURRENCY,
      mb_per_s: ours.mb_per_s,
      downloads: ours.downloads,
      baseline_mb_per_s: baseline.mb_per_s,
      ratio: Number((ours.mb_per_s / baseline.mb_per_s).toFixed(2)),
      rounds: rounds.map((r) => [r.ours.mb_per_s, r.baseline.mb_per_s]),
      peak_rss_mb: rss,
      baseline_peak_rss_mb: bare.peakRssMb(),
    };
  } finally {
    await store?.stop();
    await bare?.stop();
    await paypal.close();
  }
}
