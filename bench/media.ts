import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createImporter } from '../src/catalogue/importer/importer.js';
import { loadConfig } from '../src/config.js';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { s3Client } from '../src/media/s3-storage.js';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { toDbTime } from '../src/db/dialect.js';
import { downloadableTrack, insertDownloads } from '../src/downloads/repository.js';
import { encodingKey } from '../src/media/encodings.js';
import { runFfmpeg } from '../src/media/ffmpeg.js';
import { createMediaStorage, importerMedia } from '../src/media/index.js';
import { attachmentHeader } from '../src/media/storage.js';
import { startPayPalSandbox } from '../sandbox/paypal/index.js';
import { signedInBuyer } from './download.js';
import { emptyDatabase } from './import.js';
import type { VirtualShopper } from './lib/client.js';
import { DATA_DIR, startStore, withBenchDatabase } from './lib/store.js';
// s3rver, as the tests start it (the bench runs from a development checkout).
import { startTestS3 } from '../test/helpers/s3.js';

/**
 * Media (issue 16): how fast ffmpeg makes an MP3 320 from a FLAC master (times real time, per core:
 * audio seconds over ffmpeg's own CPU seconds), and what a download costs the store when media is
 * in object storage: ownership check, download log and a presigned redirect, the bytes never
 * passing through Node. CPU per download is the store process's CPU time (from /proc) over the
 * downloads it answered; downloads per second are with 8 at a time on the store's one process.
 */
const MASTER_SECONDS = 120;
const CPU_DOWNLOADS = Number(process.env.BENCH_MEDIA_DOWNLOADS ?? 2000);
const CONCURRENCY = 8;
const PORT = 3906;
const ACCOUNT = { clientId: 'bench-client', clientSecret: 'bench-secret', webhookId: 'BENCHWEBHOOK' };
const TICKS_PER_S = 100; // Linux's USER_HZ

function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
}

/** A stereo 44.1 kHz / 16-bit FLAC of MASTER_SECONDS: pink noise, which the encoder cannot coast on. */
function makeMaster(dir: string): string {
  const file = path.join(dir, 'bench-master.flac');
  execFileSync('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `anoisesrc=color=pink:duration=${MASTER_SECONDS}:sample_rate=44100`,
    '-ac',
    '2',
    '-c:a',
    'flac',
    '-metadata',
    'artist=Bench Artist',
    '-metadata',
    'title=Bench Master',
    '-metadata',
    'album=Bench Album',
    file,
  ]);
  return file;
}

async function encodeSpeed(master: string) {
  const { stderr } = await runFfmpeg('ffmpeg', [
    '-benchmark',
    '-nostats',
    '-v',
    'info',
    '-i',
    master,
    '-c:a',
    'libmp3lame',
    '-b:a',
    '320k',
    '-f',
    'mp3',
    '-y',
    '/dev/null',
  ]);
  const user = Number(/utime=([\d.]+)s/.exec(stderr)?.[1]);
  const real = Number(/rtime=([\d.]+)s/.exec(stderr)?.[1]);
  return { audio_s: MASTER_SECONDS, cpu_s: user, wall_s: real, x_realtime_per_core: Number((MASTER_SECONDS / user).toFixed(1)) };
}

/** CPU of a step in this process, per call, after a warm-up: user + system ms. */
async function cpuPerCall(step: () => Promise<unknown>, calls = 2000): Promise<number> {
  for (let i = 0; i < 200; i++) await step();
  const before = process.cpuUsage();
  for (let i = 0; i < calls; i++) await step();
  const used = process.cpuUsage(before);
  return Number(((used.user + used.system) / 1000 / calls).toFixed(3));
}

/**
 * The download route's own work, step by step, in this process against the same database and
 * bucket: the one query (ownership, encoding inputs and rows, remembered format), the encoding's
 * key, the download log's row (its share of a 128-row write: the log is written behind), and the signature, against the AWS SDK's getSignedUrl that it replaced.
 * The rest of the store's CPU per download is what every signed-in request costs (session, cookie
 * HMAC, middleware, log line, the response written to the socket).
 */
async function routeSteps(databaseUrl: string, config: ReturnType<typeof loadConfig>, trackId: number) {
  const settings = config.media.storage;
  if (settings.kind !== 's3') throw new Error('the media bench runs against object storage');
  const storage = createMediaStorage(settings);
  const client = s3Client(settings);
  return withBenchDatabase(databaseUrl, async ({ db }) => {
    const owner = await db.selectFrom('entitlements').select('customer_id').where('track_id', '=', trackId).executeTakeFirstOrThrow();
    const holder = { customerId: owner.customer_id, orderRefs: [], paidSince: toDbTime(new Date()) };
    const track = (await downloadableTrack(db, holder, trackId))!;
    const key = encodingKey('flac', track.inputs);
    const logRows = Array.from({ length: 128 }, () => ({
      customerId: owner.customer_id,
      trackId,
      releaseId: null,
      at: toDbTime(new Date()),
    }));
    const presign = { expiresSeconds: 900, fileName: 'Bench Artist - Bench Master.flac', contentType: 'audio/flac' };
    const steps = {
      query_ms: await cpuPerCall(() => downloadableTrack(db, holder, trackId)),
      key_ms: await cpuPerCall(async () => encodingKey('flac', track.inputs)),
      log_ms: Number(((await cpuPerCall(() => insertDownloads(db, logRows), 50)) / logRows.length).toFixed(3)),
      presign_ms: await cpuPerCall(() => storage.presignedUrl(key, presign)),
      sdk_presign_ms: await cpuPerCall(() =>
        getSignedUrl(
          client,
          new GetObjectCommand({
            Bucket: settings.bucket,
            Key: key,
            ResponseContentDisposition: attachmentHeader(presign.fileName),
            ResponseContentType: presign.contentType,
          }),
          { expiresIn: 900 },
        ),
      ),
    };
    return { ...steps, route_ms: Number((steps.query_ms + steps.key_ms + steps.log_ms + steps.presign_ms).toFixed(3)) };
  });
}

async function redirects(buyer: VirtualShopper, url: string, count: number, concurrency: number) {
  let left = count;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) {
        const answer = await buyer.download(url);
        if (answer.status !== 302) throw new Error(`${url}: ${answer.status} instead of a redirect`);
      }
    }),
  );
}

export async function benchMedia(databaseUrl: string, log: (m: string) => void) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'store-bench-media-'));
  const s3 = await startTestS3('bench-media');
  const env = s3.env;
  const paypal = await startPayPalSandbox({ ...ACCOUNT, port: 0, host: '127.0.0.1' });
  let store: Awaited<ReturnType<typeof startStore>> | undefined;
  try {
    const masterDir = path.join(work, 'masters');
    fs.mkdirSync(masterDir);
    const master = makeMaster(masterDir);
    const encoding = await encodeSpeed(master);
    log(
      `  FLAC -> MP3 320: ${encoding.x_realtime_per_core}x real time per core (${MASTER_SECONDS} s of audio in ${encoding.cpu_s} s of CPU)`,
    );

    await emptyDatabase(databaseUrl);
    const config = loadConfig({ NODE_ENV: 'test', DATA_DIR, DATABASE_URL: databaseUrl, ...env });
    const { trackId, slug } = await withBenchDatabase(databaseUrl, async ({ db }) => {
      await createImporter({ db, ...importerMedia(config.media) }).importFolder(masterDir);
      return db
        .selectFrom('tracks')
        .innerJoin('releases', 'releases.id', 'tracks.release_id')
        .select(['tracks.id as trackId', 'releases.slug'])
        .executeTakeFirstOrThrow();
    });
    store = await startStore({ port: PORT, databaseUrl, paypal: { apiBase: paypal.url, ...ACCOUNT }, env });
    const buyer = await signedInBuyer(`http://127.0.0.1:${PORT}`, databaseUrl, slug, paypal, trackId);
    // The FLAC as delivered (no encoding to wait for); a warm-up, then the measured run.
    const url = `/download/track/${trackId}?format=flac`;
    // The first request queues the FLAC (copied from the master with the catalogue's tags); the store's worker makes it.
    for (let tries = 0; (await buyer.download(url)).status === 202; tries++) {
      if (tries > 120) throw new Error('the FLAC was not made within a minute: is ffmpeg installed?');
      await new Promise((r) => setTimeout(r, 500));
    }
    await redirects(buyer, url, 200, CONCURRENCY);
    const cpuBefore = cpuSeconds(store.process.pid!);
    const started = performance.now();
    await redirects(buyer, url, CPU_DOWNLOADS, CONCURRENCY);
    const seconds = (performance.now() - started) / 1000;
    const cpu = cpuSeconds(store.process.pid!) - cpuBefore;
    const route = await routeSteps(databaseUrl, config, trackId);
    log(
      `  the route's own steps (in the bench process): query ${route.query_ms} ms, key ${route.key_ms} ms, download log row ${route.log_ms} ms, signature ${route.presign_ms} ms (the SDK's getSignedUrl: ${route.sdk_presign_ms} ms); together ${route.route_ms} ms`,
    );
    const result = {
      encoding,
      route,
      downloads: CPU_DOWNLOADS,
      cpu_ms_per_download: Number(((cpu * 1000) / CPU_DOWNLOADS).toFixed(2)),
      downloads_per_s: Math.round(CPU_DOWNLOADS / seconds),
      downloads_per_cpu_s: Math.round(CPU_DOWNLOADS / cpu),
    };
    log(
      `  presigned downloads: ${result.cpu_ms_per_download} ms of store CPU each; ${result.downloads_per_s}/s authorised (${CONCURRENCY} at a time, one process); ${result.downloads_per_cpu_s} per CPU second`,
    );
    return result;
  } finally {
    await store?.stop();
    await paypal.close();
    await s3.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
