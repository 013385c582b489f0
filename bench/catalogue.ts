import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { percentiles } from './lib/client.js';
import { startChild, type Child } from './lib/processes.js';
import { toDbTime } from '../src/db/dialect.js';
import { expectStatus, VirtualShopper } from './lib/client.js';
import { benchBuilds, startStore, withBenchDatabase, type Build } from './lib/store.js';
import { BENCH_ARTIST_PREFIX, benchSearchQueries, benchSearchQuery, generateBenchCatalogue } from './generate-catalogue.js';

/**
 * Catalogue pages of the running store against a bare Express route serving the same bytes from
 * memory, with autocannon; and search latency one request at a time.
 */
export const TRACKS = Number(process.env.BENCH_TRACKS ?? 100_000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
/** BENCH_PORT moves the store (and the bare route, the port after it): two benches at once on one machine. */
const STORE_PORT = Number(process.env.BENCH_PORT ?? 3901);
const BARE_PORT = STORE_PORT + 1;

/** Generates the 100,000-track catalogue once; refuses a database holding anything else. */
export async function prepareCatalogue(
  databaseUrl: string,
  log: (m: string) => void,
): Promise<{ releaseId: number; releaseSlug: string; artistSlug: string }> {
  return withBenchDatabase(databaseUrl, async ({ db }) => {
    const tracks = Number(
      (
        await db
          .selectFrom('tracks')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
    const first = await db.selectFrom('artists').select('name').orderBy('id').executeTakeFirst();
    if (tracks === 0) {
      log(`Generating ${TRACKS.toLocaleString()} tracks...`);
      const started = Date.now();
      await generateBenchCatalogue(db, TRACKS, (m) => log(`  ${m}`));
      log(`  done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } else if (!first?.name.startsWith(BENCH_ARTIST_PREFIX) || tracks !== TRACKS) {
      throw new Error('The bench database holds other data: give the bench an empty database of its own.');
    }
    const release = await db
      .selectFrom('releases')
      .innerJoin('artists', 'artists.id', 'releases.artist_id')
      .select(['releases.id', 'releases.slug', 'artists.slug as artist_slug'])
      .where('releases.id', '=', 4242)
      .executeTakeFirstOrThrow();
    return { releaseId: release.id, releaseSlug: release.slug, artistSlug: release.artist_slug };
  });
}

/** Requests per second and latency at `connections`; with `server`, also its CPU time per request (ms). */
export async function measureRate(
  url: string,
  headers: Record<string, string> = {},
  server?: Child,
  connections = CONNECTIONS,
  seconds = SECONDS,
) {
  await autocannon({ url, headers, connections, duration: 2 }); // warm-up
  const cpuBefore = server?.cpuMs() ?? NaN;
  const result = await autocannon({ url, headers, connections, duration: seconds });
  const cpuPerRequest = ((server?.cpuMs() ?? NaN) - cpuBefore) / result.requests.total;
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, cpuMs: Number(cpuPerRequest.toFixed(3)) };
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

/**
 * The visitors measured: one without a session (served from the shared page cache), a shopper
 * whose session holds a basket of one release, and a signed-in customer with the same basket.
 */
const VISITORS = ['anonymous', 'basket', 'customer'] as const;
/** Every request asks for compression as a browser does; the store and the bare baseline each answer compressed. */
const BROWSER = { 'accept-encoding': 'gzip, deflate, br' };
type Visitor = (typeof VISITORS)[number];
/** BENCH_VISITORS=basket and BENCH_PAGES=home,search narrow a run (to profile one path). */
const only = <T extends string>(all: readonly T[], asked: string | undefined): T[] =>
  asked ? all.filter((x) => asked.split(',').includes(x)) : [...all];

/** A shopper who has put one release in the basket, as a browser does it: the Cookie header of their session. */
async function basketCookie(baseUrl: string, releaseId: number, releaseSlug: string): Promise<string> {
  const shopper = new VirtualShopper(baseUrl);
  expectStatus(await shopper.get(`/release/${releaseSlug}`), 200, 'release page');
  expectStatus(await shopper.post('/basket/add', { kind: 'release', id: String(releaseId) }), 303, 'add to basket');
  return shopper.cookieHeader();
}

/**
 * The same shopper signed in: the session row is given a customer as signing in would (the
 * sign-in itself is measured by the purchase and download parts, not here).
 */
async function customerCookie(baseUrl: string, databaseUrl: string, releaseId: number, releaseSlug: string): Promise<string> {
  const cookie = await basketCookie(baseUrl, releaseId, releaseSlug);
  // The cookie holds "s:" + the session id + "." + its signature.
  const sid = /(?:^|; )sid=s%3A([^.;]+)\./.exec(cookie)?.[1];
  if (!sid) throw new Error(`no session cookie in ${cookie}`);
  await withBenchDatabase(databaseUrl, async ({ db }) => {
    const now = new Date();
    const email = `catalogue-bench-${now.getTime()}@example.com`;
    await db
      .insertInto('customers')
      .values({ email, msisdn: null, marketing_opt_in: 0, marketing_choice_at: null, created_at: toDbTime(now), updated_at: toDbTime(now) })
      .execute();
    const customer = await db.selectFrom('customers').select('id').where('email', '=', email).executeTakeFirstOrThrow();
    const row = await db.selectFrom('sessions').select('data').where('sid', '=', sid).executeTakeFirstOrThrow();
    const data = {
      ...(JSON.parse(row.data) as Record<string, unknown>),
      customerId: customer.id,
      signedInAt: now.getTime(),
      lastSeenAt: now.getTime(),
    };
    await db
      .updateTable('sessions')
      .set({ data: JSON.stringify(data) })
      .where('sid', '=', sid)
      .execute();
  });
  return cookie;
}

async function visitorCookies(
  baseUrl: string,
  databaseUrl: string,
  releaseId: number,
  releaseSlug: string,
): Promise<Record<Visitor, string>> {
  return {
    anonymous: '',
    basket: await basketCookie(baseUrl, releaseId, releaseSlug),
    customer: await customerCookie(baseUrl, databaseUrl, releaseId, releaseSlug),
  };
}

/** Each page as each visitor gets it, checked to be theirs: the basket badge, and the customer's link to their music. */
async function fetchPages(
  baseUrl: string,
  targets: Record<string, string>,
  cookies: Record<Visitor, string>,
): Promise<Record<string, string>> {
  const pages: Record<string, string> = {};
  for (const visitor of VISITORS) {
    for (const [name, p] of Object.entries(targets)) {
      const response = await fetch(`${baseUrl}${p}`, { headers: cookies[visitor] ? { cookie: cookies[visitor] } : {} });
      const html = await response.text();
      if (!response.ok) throw new Error(`${visitor} ${name}: ${response.status}`);
      const hasBasket = html.includes('<span class="badge">1</span>');
      const signedIn = html.includes('href="/account/music"');
      if (hasBasket !== (visitor !== 'anonymous') || signedIn !== (visitor === 'customer'))
        throw new Error(`${visitor} ${name}: the page is not the one this visitor should get`);
      pages[`${visitor}-${name}`] = html;
    }
  }
  return pages;
}

/** Uncached search, one request at a time: ten different words, each searched 20 times with every cache off. */
async function uncachedSearch(databaseUrl: string, build: Build) {
  const store = await startStore({ port: STORE_PORT, databaseUrl, build, env: { CATALOGUE_CACHE_SECONDS: '0' } });
  try {
    await sequentialTimes(`http://127.0.0.1:${STORE_PORT}/search?q=${benchSearchQuery()}`, 20); // warm-up
    const times = [];
    for (const word of benchSearchQueries(10))
      times.push(...(await sequentialTimes(`http://127.0.0.1:${STORE_PORT}/search?q=${word}`, 20)));
    return percentiles(times);
  } finally {
    await store.stop();
  }
}

/**
 * Every catalogue page (home, artist, release, search) for every kind of visitor, on each build
 * (tsx, and the compiled one when built), each against bare Express sending the same bytes in
 * the same run; the store's peak RSS over each build's whole catalogue run.
 */
export async function benchCatalogue(databaseUrl: string, log: (m: string) => void) {
  const { releaseId, releaseSlug, artistSlug } = await prepareCatalogue(databaseUrl, log);
  const targets = {
    home: '/',
    artist: `/artist/${artistSlug}`,
    release: `/release/${releaseSlug}`,
    search: `/search?q=${benchSearchQuery()}`,
  };
  const builds = benchBuilds();
  const searchLatency = await uncachedSearch(databaseUrl, builds.at(-1)!);
  const rows = [];
  const peakRss: Partial<Record<Build, number>> = {};
  const baseUrl = `http://127.0.0.1:${STORE_PORT}`;
  for (const build of builds) {
    const store = await startStore({ port: STORE_PORT, databaseUrl, build });
    const pagesFile = path.join(os.tmpdir(), `bench-pages-${process.pid}.json`);
    try {
      const cookies = await visitorCookies(baseUrl, databaseUrl, releaseId, releaseSlug);
      const pages = await fetchPages(baseUrl, targets, cookies);
      fs.writeFileSync(pagesFile, JSON.stringify(pages));
      const bare = await startChild(
        'bench/bare-server.ts',
        [pagesFile, String(BARE_PORT)],
        process.env,
        `http://127.0.0.1:${BARE_PORT}/page/anonymous-home`,
      );
      store.resetPeakRss();
      try {
        for (const visitor of only(VISITORS, process.env.BENCH_VISITORS)) {
          for (const [name, p] of Object.entries(targets).filter(([name]) => only([name], process.env.BENCH_PAGES).length)) {
            log(`  ${build}, ${visitor}: ${name}...`);
            const ours = await measureRate(
              `${baseUrl}${p}`,
              { ...BROWSER, ...(cookies[visitor] ? { cookie: cookies[visitor] } : {}) },
              store,
            );
            const baseline = await measureRate(`http://127.0.0.1:${BARE_PORT}/page/${visitor}-${name}`, BROWSER, bare);
            rows.push({
              build,
              visitor,
              page: name,
              rps: Math.round(ours.rps),
              p50_ms: ours.p50,
              p99_ms: ours.p99,
              bare_rps: Math.round(baseline.rps),
              ratio: Number((ours.rps / baseline.rps).toFixed(2)),
              cpu_ms_per_request: ours.cpuMs,
              bare_cpu_ms_per_request: baseline.cpuMs,
              page_kb: Number((Buffer.byteLength(pages[`${visitor}-${name}`]!) / 1024).toFixed(1)),
            });
          }
        }
        peakRss[build] = store.peakRssMb();
      } finally {
        await bare.stop();
      }
    } finally {
      await store.stop();
      fs.rmSync(pagesFile, { force: true });
    }
  }
  return {
    connections: CONNECTIONS,
    seconds: SECONDS,
    tracks: TRACKS,
    pages: rows,
    peak_rss_mb: peakRss,
    search_uncached: { ...searchLatency, build: builds.at(-1), note: 'one request at a time, caches off, ten different four-letter words' },
  };
}
