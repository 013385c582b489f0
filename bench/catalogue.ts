import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { parseDatabaseUrl } from '../src/config.js';
import { migrateToLatest, openDatabase } from '../src/db/database.js';
import { BENCH_ARTIST_PREFIX, benchSearchQuery, generateBenchCatalogue } from './generate-catalogue.js';

/**
 * npm run bench: the store's catalogue pages against a bare Express route serving the same bytes
 * from memory, on a generated 100,000-track catalogue in the database named by DATABASE_URL
 * (default: an SQLite file of its own under data/bench/). Prints a table; asserts nothing.
 */
const TRACKS = Number(process.env.BENCH_TRACKS ?? 100_000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const STORE_PORT = 3901;
const BARE_PORT = 3902;
const databaseUrl = process.env.DATABASE_URL || path.resolve('data/bench/store.sqlite');

async function prepareCatalogue(): Promise<{ releaseSlug: string }> {
  const database = await openDatabase(parseDatabaseUrl(databaseUrl, 'data'));
  try {
    await migrateToLatest(database.db);
    const tracks = Number((await database.db.selectFrom('tracks').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const first = await database.db.selectFrom('artists').select('name').orderBy('id').executeTakeFirst();
    if (tracks === 0) {
      console.log(`Generating ${TRACKS.toLocaleString()} tracks...`);
      const started = Date.now();
      await generateBenchCatalogue(database.db, TRACKS, (m) => console.log(`  ${m}`));
      console.log(`  done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } else if (!first?.name.startsWith(BENCH_ARTIST_PREFIX) || tracks !== TRACKS) {
      throw new Error('DATABASE_URL names a database holding other data: give the bench an empty database of its own.');
    }
    const release = await database.db.selectFrom('releases').select('slug').where('id', '=', 4242).executeTakeFirstOrThrow();
    return { releaseSlug: release.slug };
  } finally {
    await database.close();
  }
}

function start(script: string, args: string[], env: NodeJS.ProcessEnv, port: number): Promise<ChildProcess> {
  const child = fork(script, args, { env, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
    const poll = setInterval(async () => {
      try {
        await fetch(`http://127.0.0.1:${port}/`);
        clearInterval(poll);
        resolve(child);
      } catch {
        /* not listening yet */
      }
    }, 200);
  });
}

/** Production mode, as a shop runs; the payment and messaging accounts are placeholders that catalogue pages never call. */
function productionEnv(): NodeJS.ProcessEnv {
  return {
    NODE_ENV: 'production',
    PORT: String(STORE_PORT),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${STORE_PORT}`,
    DEMO_CATALOGUE: 'false',
    SESSION_SECRET: 'bench-'.padEnd(40, 'x'),
    DATA_DIR: 'data/bench',
    PAYPAL_CLIENT_ID: 'bench',
    PAYPAL_CLIENT_SECRET: 'bench',
    PAYPAL_WEBHOOK_ID: 'BENCH',
    PAYFORIT_API_BASE: 'http://127.0.0.1:9',
    PAYFORIT_MERCHANT_ID: 'bench',
    PAYFORIT_SECRET: 'bench-'.padEnd(40, 'x'),
    SMTP_URL: 'smtp://127.0.0.1:9',
    MAIL_FROM: 'bench@example.com',
    TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`,
    TWILIO_AUTH_TOKEN: 'bench'.padEnd(32, 'x'),
    SMS_FROM: 'Bench',
  };
}

async function measure(url: string) {
  await autocannon({ url, connections: CONNECTIONS, duration: 2 }); // warm-up
  const result = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, bytes: result.throughput.average / result.requests.average };
}

async function main() {
  const { releaseSlug } = await prepareCatalogue();
  const targets = { home: '/', release: `/release/${releaseSlug}`, search: `/search?q=${benchSearchQuery()}` };
  const store = await start('src/server.ts', [], { ...process.env, ...productionEnv(), DATABASE_URL: databaseUrl }, STORE_PORT);
  const pagesFile = path.join(os.tmpdir(), `bench-pages-${process.pid}.json`);
  const pages = Object.fromEntries(await Promise.all(Object.entries(targets).map(async ([name, p]) => [name, await (await fetch(`http://127.0.0.1:${STORE_PORT}${p}`)).text()])));
  fs.writeFileSync(pagesFile, JSON.stringify(pages));
  const bare = await start('bench/bare-server.ts', [pagesFile, String(BARE_PORT)], process.env, BARE_PORT);
  const dialect = databaseUrl.startsWith('mysql') ? 'MySQL' : 'SQLite';
  console.log(`\n${dialect}, ${TRACKS.toLocaleString()} tracks, ${CONNECTIONS} connections, ${SECONDS} s per run, ${os.cpus().length} cores (load generator on the same machine)\n`);
  const rows = [];
  try {
    for (const [name, p] of Object.entries(targets)) {
      const ours = await measure(`http://127.0.0.1:${STORE_PORT}${p}`);
      const baseline = await measure(`http://127.0.0.1:${BARE_PORT}/page/${name}`);
      rows.push({
        page: name,
        'req/s': Math.round(ours.rps),
        'p50 ms': ours.p50,
        'p99 ms': ours.p99,
        'bare req/s': Math.round(baseline.rps),
        'bare p99 ms': baseline.p99,
        ratio: Number((ours.rps / baseline.rps).toFixed(2)),
        'page KB': Number((pages[name]!.length / 1024).toFixed(1)),
      });
    }
  } finally {
    store.kill('SIGTERM');
    bare.kill('SIGTERM');
    fs.rmSync(pagesFile, { force: true });
  }
  console.table(rows);
  console.log('Target: ratio >= 0.5 for every catalogue page.');
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
