import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import readline from 'node:readline';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { DatabaseTarget } from '../../src/config.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../../src/db/database.js';
import { toDbTime } from '../../src/db/dialect.js';
import { createSmtpEmailSender } from '../../src/notifications/email.js';
import { queueMessage } from '../../src/notifications/outbox.js';
import type { SmsSender } from '../../src/notifications/senders.js';
import { createOutboxWorker, type OutboxWorker } from '../../src/notifications/worker.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { waitFor } from '../helpers/payforit.js';
import { privateMariadbUnavailable, startPrivateMariadb, type PrivateMariadb } from '../helpers/private-mariadb.js';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp.js';

const unavailable = privateMariadbUnavailable();
if (unavailable && process.env.CI === 'true') throw new Error(`CI=true but the outbox outage test cannot run on MySQL: ${unavailable}`);

const MESSAGES = 20;
/** The mail server takes this long to accept each message: the database goes away meanwhile. */
const ACCEPT_DELAY_MS = 300;

interface Setup {
  database: DatabaseHandle;
  /** Takes the database away now; resolves once it answers again. */
  outage(): Promise<void>;
  /** The worker's lease: long enough for a batch's sends, short enough for the test to outlast it. */
  leaseMs: number;
}

const noSms: SmsSender = { kind: 'twilio', send: () => Promise.reject(new Error('no SMS in this test')), close() {} };

/**
 * The database goes away while confirmations are in the mail server's hands (a slow server, taking
 * a moment to accept each), and comes back. Every message reaches the server exactly once: a result
 * the database could not take is kept by the worker and recorded when it answers, so the lease
 * never returns a message that was delivered; a message not yet handed over waits.
 */
async function sendThroughOutage(setup: Setup) {
  const db = setup.database.db;
  const { logger, logLines } = capturingLogger();
  const smtp: TestSmtpServer = await startSmtpServer(0, { acceptDelayMs: ACCEPT_DELAY_MS });
  let worker: OutboxWorker | undefined;
  try {
    await queueEmails(db, MESSAGES);
    worker = slowSmtpWorker(db, smtp, logger, setup.leaseMs);
    worker.start();
    // The first message is at the server, not yet accepted: the database goes away now.
    await waitFor('a message at the mail server', () => smtp.received.length > 0, 30_000);
    const startedAt = Date.now();
    await setup.outage();
    const backAt = Date.now();
    await waitFor(
      'every message recorded as sent',
      async () => {
        const rows = await db
          .selectFrom('outbox')
          .select('status')
          .execute()
          .catch(() => []);
        return rows.length === MESSAGES && rows.every((r) => r.status === 'sent');
      },
      60_000,
    );
    // Longer than a lease after the last claim: a message left `sending` would have gone out again by now.
    await new Promise((r) => setTimeout(r, setup.leaseMs + 1000));
    await worker.stop();
    const ids = smtp.received.map((m) => m.parsed.messageId);
    const duplicates = [...new Set(ids)].filter((id) => ids.filter((x) => x === id).length > 1);
    const log = logLines.join('');
    return { received: smtp.received, ids, duplicates, log, outageMs: backAt - startedAt };
  } finally {
    await worker?.stop();
    await smtp.close();
  }
}

function capturingLogger() {
  const logLines: string[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _e, done) => (logLines.push(String(chunk)), done()) }));
  return { logger, logLines };
}

async function queueEmails(db: DatabaseHandle['db'], count: number): Promise<void> {
  const at = toDbTime(new Date());
  for (let i = 1; i <= count; i++) {
    await queueMessage(
      db,
      {
        channel: 'email',
        recipient: `fan-${i}@example.com`,
        kind: 'transactional',
        subject: `Your order ${i} is paid`,
        text: `Order ${i}`,
      },
      at,
    );
  }
}

function slowSmtpWorker(
  db: DatabaseHandle['db'],
  smtp: TestSmtpServer,
  logger: ReturnType<typeof capturingLogger>['logger'],
  leaseMs: number,
): OutboxWorker {
  const email = createSmtpEmailSender({ smtpUrl: smtp.url, from: 'Store <orders@store.test>' });
  return createOutboxWorker({ db, senders: { email, sms: noSms }, logger, pollMs: 50, batchSize: 5, leaseMs });
}

function expectEachOnce(result: Awaited<ReturnType<typeof sendThroughOutage>>) {
  const { ids, duplicates, log } = result;
  expect(duplicates, `messages delivered twice; the worker's log:\n${log.slice(-3000)}`).toEqual([]);
  expect(ids).toHaveLength(MESSAGES);
  expect(new Set(result.received.map((m) => m.parsed.subject)).size).toBe(MESSAGES);
  // The outage did meet results in flight: some were kept and recorded afterwards.
  expect(log).toContain('keeping it to record when it answers');
  expect(log).toContain('recorded a result kept while the database was away');
  expect(log).not.toContain('took back messages whose worker stopped');
}

describe.skipIf(unavailable !== null)('outbox through a MySQL restart', () => {
  let mariadb: PrivateMariadb;
  let database: DatabaseHandle;
  afterAll(async () => {
    await database?.close().catch(() => undefined);
    await mariadb?.destroy();
  });

  it('sends every message exactly once while MySQL is killed and restarted mid-send', { timeout: 180_000 }, async () => {
    mariadb = await startPrivateMariadb();
    const target: DatabaseTarget = { kind: 'mysql', url: `${mariadb.serverUrl}store_outbox_outage` };
    database = await openDatabase(target);
    await migrateToLatest(database.db);
    const result = await sendThroughOutage({
      database,
      leaseMs: 4000,
      async outage() {
        await mariadb.kill();
        await new Promise((r) => setTimeout(r, 3000));
        await mariadb.start();
      },
    });
    expectEachOnce(result);
    console.info(
      `outbox-database-outage on mysql: ${result.ids.length} messages received once each through a ${result.outageMs} ms outage`,
    );
  });
});

/**
 * Another process ready to take SQLite's write lock and hold it for `ms`: started beforehand, so
 * the lock comes the moment the test asks (lock() resolves once it is held, with a promise of its
 * release), not after a process start.
 */
async function prepareSqliteLock(file: string, ms: number): Promise<{ lock(): Promise<{ released: Promise<unknown> }> }> {
  const script = `const db = new (require('better-sqlite3'))(process.argv[1]); console.log('ready'); process.stdin.once('data', () => { db.prepare('BEGIN IMMEDIATE').run(); console.log('locked'); setTimeout(() => { db.prepare('ROLLBACK').run(); db.close(); process.exit(0); }, Number(process.argv[2])); });`;
  const child = spawn(process.execPath, ['-e', script, file, String(ms)], {
    cwd: path.resolve(import.meta.dirname, '../..'),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const released = once(child, 'exit');
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (expected: string) => {
    for (let line = await lines.next(); !line.done; line = await lines.next()) if (line.value === expected) return;
    throw new Error(`the locking process ended before saying ${expected}`);
  };
  await next('ready');
  return {
    async lock() {
      child.stdin.write('lock\n');
      await next('locked');
      return { released };
    },
  };
}

/**
 * SQLite's outage: another process holds the write lock for 6 s, past the store's busy timeout, so
 * a write of the store's process waits 5 s (better-sqlite3 holds the event loop meanwhile) and
 * fails with SQLITE_BUSY; reads go on (WAL). The lease is longer here, so the send time-out
 * outlasts that wait.
 */
describe('outbox while SQLite is locked by another process', () => {
  let database: TestDatabase;
  afterAll(async () => database?.drop());

  it('sends every message exactly once while the database refuses writes mid-send', { timeout: 180_000 }, async () => {
    database = await createTestDatabase('sqlite');
    const locker = await prepareSqliteLock(database.url, 6000);
    const result = await sendThroughOutage({
      database,
      leaseMs: 20_000,
      async outage() {
        await (
          await locker.lock()
        ).released;
      },
    });
    expectEachOnce(result);
    console.info(`outbox-database-outage on sqlite: ${result.ids.length} messages received once each through a ${result.outageMs} ms lock`);
  });

  it('stop() records the results kept through the outage before it returns', { timeout: 120_000 }, async () => {
    const stopping = await createTestDatabase('sqlite');
    const { logger, logLines } = capturingLogger();
    const smtp = await startSmtpServer(0, { acceptDelayMs: ACCEPT_DELAY_MS });
    try {
      await queueEmails(stopping.db, 15);
      // Long enough that writes begun in its first seconds fail.
      const locker = await prepareSqliteLock(stopping.url, 8000);
      const worker = slowSmtpWorker(stopping.db, smtp, logger, 20_000);
      worker.start();
      await waitFor('a message at the mail server', () => smtp.received.length > 0, 30_000);
      const lock = await locker.lock();
      // SIGTERM now: the store stops its worker while the database refuses writes.
      await worker.stop();
      await lock.released;
      const rows = await stopping.db.selectFrom('outbox').select(['status']).execute();
      const log = logLines.join('');
      expect(log).toContain('keeping it to record when it answers');
      expect(log).not.toContain('stopped with results the database never took');
      // Whatever reached the server is recorded sent; nothing is left 'sending' for a lease to return.
      expect(
        rows.filter((r) => r.status === 'sending'),
        log.slice(-3000),
      ).toEqual([]);
      expect(rows.filter((r) => r.status === 'sent')).toHaveLength(smtp.received.length);
    } finally {
      await smtp.close();
      await stopping.drop();
    }
  });
});
