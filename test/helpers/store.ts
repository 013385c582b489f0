import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { createApp, type StoreApp } from '../../src/app.js';
import { createImporter } from '../../src/catalogue/importer/importer.js';
import { createMediaStorage, importerMedia } from '../../src/media/index.js';
import { createEncoder, type Encoder } from '../../src/media/encoder.js';
import { loadConfig, type Config } from '../../src/config.js';
import { openDatabase, type DatabaseHandle } from '../../src/db/database.js';
import { startPayForItSandbox } from '../../sandbox/payforit/index.js';
import { startPayPalSandbox } from '../../sandbox/paypal/index.js';
import { createEmailSender } from '../../src/notifications/email.js';
import { createTwilioSmsSender } from '../../src/notifications/sms.js';
import { createOutboxWorker, type OutboxWorker } from '../../src/notifications/worker.js';
import { newStandInAccount, startTwilioSandbox } from '../../sandbox/twilio/index.js';
import { createLogger } from '../../src/web/logging.js';
import { startSmtpServer, type TestSmtpServer } from './smtp.js';
import { createTestDatabase, type DatabaseKind, type TestDatabase } from './databases.js';

export interface TestStore {
  baseUrl: string;
  config: Config;
  database: TestDatabase;
  app: StoreApp;
  paypal: Awaited<ReturnType<typeof startPayPalSandbox>>;
  /** The mobile-billing stand-in on its own port, with the account the store uses there. */
  payforit: Awaited<ReturnType<typeof startPayForItSandbox>> & typeof PAYFORIT_ACCOUNT;
  /** With `messaging`: a real SMTP server, the SMS gateway stand-in and a running outbox worker. */
  smtp?: TestSmtpServer;
  sms?: Awaited<ReturnType<typeof startTwilioSandbox>>;
  /** The encoding worker on this store's database and media (polling only with `encoding`; drainOnce() works the queue now). */
  encoder: Encoder;
  /** The text of the newest SMS the gateway stand-in received for `to`, once one has arrived. */
  waitForSms(to: string, timeoutMs?: number): Promise<string>;
  /** As a restarted process: closes the app and its database connection, then serves a new app on the same database and port. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** Where the store's log lines go in a test that reads them (by default nothing is logged). */
export interface TestLog {
  level: 'info' | 'debug' | 'trace';
  write(line: string): void;
}

const testLogger = (log?: TestLog) =>
  log ? createLogger(log.level, { write: (line: string) => log.write(line) }) : createLogger('silent');

const PAYPAL_ACCOUNT = { clientId: 'test-client', clientSecret: 'test-secret', webhookId: 'WHTEST0001' };
const PAYFORIT_ACCOUNT = { merchantId: 'test-merchant', secret: 'test-payforit-secret-0123456789abcdef' };
/** The documented resend schedule (10 s ... 2 h) in milliseconds instead of seconds. */
const PAYFORIT_RETRY_SCALE = 0.001;

/**
 * The real app on a real database and a real port, stocked with the fixture library through the
 * real importer, paying through the PayPal stand-in on a port of its own. `env` overrides
 * settings; `clock` pins time; `testMode: false` serves the pages as a live store shows them (no
 * test-mode banner) while still paying through the stand-ins.
 */
export async function startTestStore(
  kind: DatabaseKind,
  options: {
    env?: Record<string, string>;
    clock?: () => Date;
    stock?: boolean;
    messaging?: boolean;
    log?: TestLog;
    testMode?: boolean;
    encoding?: boolean;
  } = {},
): Promise<TestStore> {
  const database = await createTestDatabase(kind);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-data-'));
  // Listen first: the stand-in must know where to send webhooks before the app is built.
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const paypal = await startPayPalSandbox({ ...PAYPAL_ACCOUNT, webhookUrl: `${baseUrl}/webhooks/paypal`, port: 0, host: '127.0.0.1' });
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    DATABASE_URL: database.url,
    LOG_LEVEL: 'silent',
    PUBLIC_URL: baseUrl,
    SESSION_SECRET: 'test-session-secret-that-is-long-enough-0123456789',
    // Tests change the catalogue and look at it at once; the page cache has a test of its own.
    CATALOGUE_CACHE_SECONDS: '0',
    ...options.env,
  });
  if (options.stock !== false) {
    await createImporter({ db: database.db, ...importerMedia(config.media) }).importFolder(inject('fixtureLibrary'));
  }
  const payforit = await startPayForItSandbox({
    ...PAYFORIT_ACCOUNT,
    merchantName: config.storeName,
    callbackUrl: `${baseUrl}/notifications/payforit`,
    returnOrigins: [baseUrl],
    maxPence: config.payforitMaxPence,
    retryScale: PAYFORIT_RETRY_SCALE,
    clock: options.clock,
  });
  const build = (handle: DatabaseHandle) =>
    createApp({
      config,
      database: handle,
      logger: testLogger(options.log),
      clock: options.clock,
      paypal: { apiBase: paypal.url, ...PAYPAL_ACCOUNT },
      payforit: { apiBase: payforit.url, ...PAYFORIT_ACCOUNT, maxPence: config.payforitMaxPence },
      testMode: options.testMode ?? true,
    });
  let handle: DatabaseHandle = database;
  let app = build(handle);
  server.on('request', app);
  const messaging = options.messaging ? await startMessaging(database, config, options.log) : undefined;
  const encoder = createEncoder({
    db: database.db,
    storage: createMediaStorage(config.media.storage),
    ffmpegPath: config.media.ffmpegPath,
    logger: testLogger(options.log),
    pollMs: 50,
  });
  if (options.encoding) encoder.start();
  const closeQuietly = (h: DatabaseHandle) => h.close().catch(() => undefined);
  return {
    baseUrl,
    config,
    get database() {
      return { ...database, db: handle.db, close: () => handle.close() };
    },
    get app() {
      return app;
    },
    paypal,
    payforit: Object.assign(payforit, PAYFORIT_ACCOUNT),
    smtp: messaging?.smtp,
    sms: messaging?.sms,
    encoder,
    async waitForSms(to, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = messaging?.sms.control
          .messages()
          .filter((m) => m.to === to)
          .at(-1);
        if (found) return found.body;
        if (Date.now() > deadline) throw new Error(`no SMS reached ${to}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async restart() {
      server.removeAllListeners('request');
      server.closeAllConnections();
      await app.close();
      await closeQuietly(handle);
      handle = await openDatabase(database.target);
      app = build(handle);
      server.on('request', app);
    },
    async close() {
      await encoder.stop();
      await messaging?.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await app.close();
      await paypal.close();
      await payforit.close();
      if (handle !== database) await closeQuietly(handle);
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Real delivery for journeys that read their messages: SMTP server, SMS stand-in, a worker polling fast. */
async function startMessaging(database: DatabaseHandle, config: Config, log?: TestLog) {
  const smtp = await startSmtpServer();
  const account = newStandInAccount();
  const sms = await startTwilioSandbox({ ...account, port: 0, host: '127.0.0.1' });
  const worker: OutboxWorker = createOutboxWorker({
    db: database.db,
    senders: {
      email: createEmailSender({ smtpUrl: smtp.url, from: config.mail.from, mailDir: config.mail.folder }),
      sms: createTwilioSmsSender({ apiBase: sms.url, ...account, from: 'NLMusic' }),
    },
    logger: testLogger(log),
    pollMs: 50,
  });
  worker.start();
  return {
    smtp,
    sms,
    async close() {
      await worker.stop();
      await sms.close();
      await smtp.close();
    },
  };
}
