import fs from 'node:fs';
import path from 'node:path';
import { parseDatabaseUrl } from '../../src/config.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../../src/db/database.js';
import { startChild, type Child } from './processes.js';

export type BenchDb = 'sqlite' | 'mysql';

export const DATA_DIR = 'data/bench';
export const SESSION_SECRET = 'bench-'.padEnd(40, 'x');
const MYSQL_SERVER = process.env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/';

/**
 * The bench's own databases, never a shop's: the 100,000-track catalogue (DATABASE_URL overrides
 * the one of its kind) and a scratch one the import part empties each time.
 */
export function benchDatabaseUrl(kind: BenchDb, purpose: 'catalogue' | 'import' | 'media' = 'catalogue'): string {
  const given = process.env.DATABASE_URL;
  if (purpose === 'catalogue' && given && given.startsWith('mysql') === (kind === 'mysql')) return given;
  // The import part's scratch database (emptied each run): BENCH_IMPORT_DATABASE_URL names another, for two benches on one server.
  const importUrl = process.env.BENCH_IMPORT_DATABASE_URL;
  if (purpose === 'import' && importUrl && importUrl.startsWith('mysql') === (kind === 'mysql')) return importUrl;
  if (kind === 'mysql') return new URL(purpose === 'catalogue' ? 'store_bench' : `store_bench_${purpose}`, MYSQL_SERVER).toString();
  return path.resolve(DATA_DIR, `${purpose === 'catalogue' ? 'store' : purpose}.sqlite`);
}

export async function withBenchDatabase<T>(url: string, work: (database: DatabaseHandle) => Promise<T>): Promise<T> {
  const database = await openDatabase(parseDatabaseUrl(url, DATA_DIR));
  try {
    await migrateToLatest(database.db);
    return await work(database);
  } finally {
    await database.close();
  }
}

export interface PaymentAccount {
  apiBase: string;
  clientId: string;
  clientSecret: string;
  webhookId: string;
}

/**
 * The store as a shop runs it: production mode, in a process of its own. The payment and
 * messaging accounts point at stand-ins (or nowhere, for the parts that never pay).
 */
/** How the store runs: TypeScript through tsx (`npm start`), or the output of `npm run build` on plain Node. */
export type Build = 'tsx' | 'compiled';

/** The compiled server, where `npm run build` writes it. */
export const COMPILED_SERVER = 'dist/src/server.js';

/**
 * How production runs the compiled server: a young generation of 1 MB per semi-space (Node's
 * default grows to 16 MB, and the store's garbage is short-lived page work) and an old space of
 * 96 MB (the page caches are bounded by size to fit). Together they took the compiled store's peak
 * under load from about 190 MB to about 110 MB. BENCH_NODE_FLAGS replaces them ("" for Node's defaults).
 */
export const PRODUCTION_NODE_FLAGS = ['--max-semi-space-size=1', '--max-old-space-size=96'];
const nodeFlags = () =>
  process.env.BENCH_NODE_FLAGS !== undefined ? process.env.BENCH_NODE_FLAGS.split(' ').filter(Boolean) : PRODUCTION_NODE_FLAGS;

/** BENCH_BUILDS=tsx,compiled (the default: both, when a build exists; tsx alone otherwise). */
export function benchBuilds(): Build[] {
  const asked = process.env.BENCH_BUILDS?.split(',').map((b) => b.trim());
  if (asked) {
    const unknown = asked.filter((b) => b !== 'tsx' && b !== 'compiled');
    if (unknown.length) throw new Error(`BENCH_BUILDS: unknown build ${unknown.join(', ')} (tsx, compiled)`);
    if (asked.includes('compiled') && !fs.existsSync(COMPILED_SERVER))
      throw new Error(`BENCH_BUILDS=compiled: ${COMPILED_SERVER} is missing; run npm run build first`);
    return asked as Build[];
  }
  return fs.existsSync(COMPILED_SERVER) ? ['tsx', 'compiled'] : ['tsx'];
}

export function startStore(options: {
  port: number;
  databaseUrl: string;
  build?: Build;
  paypal?: PaymentAccount;
  smtpUrl?: string;
  env?: Record<string, string>;
}): Promise<Child> {
  const base = `http://127.0.0.1:${options.port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    PORT: String(options.port),
    HOST: '127.0.0.1',
    PUBLIC_URL: base,
    DATABASE_URL: options.databaseUrl,
    DEMO_CATALOGUE: 'false',
    SESSION_SECRET,
    DATA_DIR,
    PAYPAL_API_BASE: options.paypal?.apiBase ?? 'http://127.0.0.1:9',
    PAYPAL_CLIENT_ID: options.paypal?.clientId ?? 'bench',
    PAYPAL_CLIENT_SECRET: options.paypal?.clientSecret ?? 'bench',
    PAYPAL_WEBHOOK_ID: options.paypal?.webhookId ?? 'BENCH',
    PAYFORIT_API_BASE: 'http://127.0.0.1:9',
    PAYFORIT_MERCHANT_ID: 'bench',
    PAYFORIT_SECRET: SESSION_SECRET,
    SMTP_URL: options.smtpUrl ?? 'smtp://127.0.0.1:9',
    MAIL_FROM: 'bench@example.com',
    TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`,
    TWILIO_AUTH_TOKEN: 'bench'.padEnd(32, 'x'),
    SMS_FROM: 'Bench',
    // Production refuses to start without the privacy policy's operator and contact.
    COMPANY_NAME: 'Bench Music Ltd',
    INFO_OFFICER_NAME: 'Bench Officer',
    CONTACT_EMAIL: 'bench@example.com',
    // Thousands of shoppers come from one address here; the per-client limits are not what is measured.
    SIGN_IN_LIMIT_PER_CLIENT: '100000',
    ...options.env,
  };
  const compiled = options.build === 'compiled';
  return startChild(compiled ? COMPILED_SERVER : 'src/server.ts', [], env, `${base}/healthz`, compiled ? nodeFlags() : []);
}
