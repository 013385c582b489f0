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
export function startStore(options: { port: number; databaseUrl: string; paypal?: PaymentAccount; smtpUrl?: string; env?: Record<string, string> }): Promise<Child> {
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
    // Thousands of shoppers come from one address here; the per-client limits are not what is measured.
    SIGN_IN_LIMIT_PER_CLIENT: '100000',
    ...options.env,
  };
  return startChild('src/server.ts', [], env, `${base}/healthz`);
}
