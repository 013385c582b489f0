import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { percentiles } from './lib/client.js';
import { startChild } from './lib/processes.js';
import { startStore, withBenchDatabase } from './lib/store.js';
import { BENCH_ARTIST_PREFIX, benchSearchQueries, benchSearchQuery, generateBenchCatalogue } from './generate-catalogue.js';

/**
 * Catalogue pages (home, a release, a search) of the running store against a bare Express route
 * serving the same bytes from memory, with autocannon; and search latency one request at a time.
 */
export const TRACKS = Number(process.env.BENCH_TRACKS ?? 100_000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const STORE_PORT = 3901;
const BARE_PORT = 3902;

/** Generates the 100,000-track catalogue once; refuses a database holding anything else. */
export async function prepareCatalogue(databaseUrl: string, log: (m: string) => void): Promise<{ releaseSlug: string }> {
  return withBenchDatabase(databaseUrl, async ({ db }) => {
    const tracks = Number((await db.selectFrom('tracks').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const first = await db.selectFrom('artists').select('name').orderBy('id').executeTakeFirst();
    if (tracks === 0) {
      log(`Generating ${TRACKS.toLocaleString()} tracks...`);
      const started = Date.now();
      await generateBenchCatalogue(db, TRACKS, (m) => log(`  ${m}`));
      log(`  done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } else if (!first?.name.startsWith(BENCH_ARTIST_PREFIX) || tracks !== TRACKS) {
      throw new Error('The bench database holds other data: give the bench an empty database of its own.');
    }
    const release = await db.selectFrom('releases').select('slug').where('id', '=', 4242).executeTakeFirstOrThrow();
    return { releaseSlug: release.slug };
  });
}

export async function measureRate(url: string, connections = CONNECTIONS, seconds = SECONDS) {
  await autocannon({ url, connections, duration: 2 }); // warm-up
  const result = await autocannon({ url, connections, duration: seconds });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

/** One request at a time: the latency of the work itself, without queueing behind other connections. */
async function sequentialTimes(url: string, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const response = await fetch(url);
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`${url}: ${response.status}`);
    times.push(performance.now() - started);
  }
  return times;
}

export async function benchCatalogue(databaseUrl: string, log: (m: string) => void) {
  const { releaseSlug } = await prepareCatalogue(databaseUrl, log);
  const query = benchSearchQuery();
  const targets = { home: '/', release: `/release/${releaseSlug}`, search: `/search?q=${query}` };
  // The page-data cache off: every search below reads the database.
  const uncached = await startStore({ port: STORE_PORT, databaseUrl, env: { CATALOGUE_CACHE_SECONDS: '0' } });
  let searchLatency;
  try {
    // Ten different words, each searched 20 times with every cache off.
    await sequentialTimes(`http://127.0.0.1:${STORE_PORT}/search?q=${query}`, 20); // warm-up
    const times = [];
    for (const word of benchSearchQueries(10)) times.push(...(await sequentialTimes(`http://127.0.0.1:${STORE_PORT}/search?q=${word}`, 20)));
    searchLatency = percentiles(times);
  } finally {
    await uncached.stop();
  }

  const store = await startStore({ port: STORE_PORT, databaseUrl });
  const pagesFile = path.join(os.tmpdir(), `bench-pages-${process.pid}.json`);
  const rows = [];
  try {
    const pages = Object.fromEntries(await Promise.all(Object.entries(targets).map(async ([name, p]): Promise<[string, string]> => [name, await (await fetch(`http://127.0.0.1:${STORE_PORT}${p}`)).text()])));
    fs.writeFileSync(pagesFile, JSON.stringify(pages));
    const bare = await startChild('bench/bare-server.ts', [pagesFile, String(BARE_PORT)], process.env, `http://127.0.0.1:${BARE_PORT}/page/home`);
    try {
      for (const [name, p] of Object.entries(targets)) {
        log(`  ${name}...`);
        store.resetPeakRss();
        const ours = await measureRate(`http://127.0.0.1:${STORE_PORT}${p}`);
        const rss = store.peakRssMb();
        const baseline = await measureRate(`http://127.0.0.1:${BARE_PORT}/page/${name}`);
        rows.push({
          page: name,
          rps: Math.round(ours.rps),
          p50_ms: ours.p50,
          p99_ms: ours.p99,
          bare_rps: Math.round(baseline.rps),
          ratio: Number((ours.rps / baseline.rps).toFixed(2)),
          page_kb: Number((pages[name]!.length / 1024).toFixed(1)),
          peak_rss_mb: rss,
        });
      }
    } finally {
      await bare.stop();
    }
  } finally {
    await store.stop();
    fs.rmSync(pagesFile, { force: true });
  }
  return { connections: CONNECTIONS, seconds: SECONDS, tracks: TRACKS, pages: rows, search_uncached: { ...searchLatency, note: 'one request at a time, caches off, ten different four-letter words' } };
}
