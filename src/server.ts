import type { Server } from 'node:http';
import type express from 'express';
import { createApp } from './app.js';
import { loadDemoCatalogueIfEmpty } from './catalogue/demo-catalogue.js';
import { createImporter } from './catalogue/importer/importer.js';
import { createMediaStorage, importerMedia } from './media/index.js';
import { detectFfmpeg } from './media/ffmpeg.js';
import { createEncoder } from './media/encoder.js';
import { createCatalogueRepository } from './catalogue/repository.js';
import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig, loadDotEnv, type Config } from './config.js';
import { createPayPalSandbox } from '../sandbox/paypal/index.js';
import { NOTIFICATION_PATH as PAYFORIT_NOTIFICATION_PATH } from './payments/payforit/method.js';
import { createPayForItSandbox } from '../sandbox/payforit/index.js';
import { migrateToLatest, openDatabase } from './db/database.js';
import { createServerLogger } from './web/logging.js';
import { createEmailSender } from './notifications/email.js';
import { createTwilioSmsSender } from './notifications/sms.js';
import { createOutboxWorker } from './notifications/worker.js';
import { MESSAGES_PAGE_PATH, messagesPageRoutes } from '../sandbox/messages/routes.js';
import { createTwilioSandbox, newStandInAccount } from '../sandbox/twilio/index.js';

const SHUTDOWN_GRACE_MS = 10_000;
/**
 * How long an idle kept-alive connection stays open. Node's 5 s default closes connections a
 * reverse proxy is about to reuse (nginx and most load balancers keep theirs for 60 s), and a
 * process whose event loop stood still (SQLite waiting out its 5 s busy timeout while another
 * process holds the write lock) fired that timer first thing afterwards, resetting a request that
 * had arrived meanwhile. Headers must be given longer than that.
 */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
const PAYPAL_SANDBOX_PATH = '/sandbox/paypal';
const PAYFORIT_SANDBOX_PATH = '/sandbox/payforit';
const SMS_SANDBOX_PATH = '/sandbox/sms';

/** Start-up: config -> database -> migrations -> demo catalogue -> app -> listen; SIGTERM stops gracefully. */
async function main() {
  loadDotEnv();
  const config = loadConfig();
  const logger = createServerLogger(config.logLevel, config.env);
  if (config.env === 'production' && import.meta.url.endsWith('.ts')) {
    logger.warn(
      'Production from TypeScript source: `npm run build` then `npm run start:prod` runs the compiled store (faster start, less memory)',
    );
  }
  const database = await openDatabase(config.database);
  const applied = await migrateToLatest(database.db);
  if (applied.length) logger.info({ migrations: applied }, 'Database migrated');

  // ffmpeg makes every format of a lossless master: say plainly at start-up what is off without it.
  const ffmpeg = await detectFfmpeg(config.media.ffmpegPath, config.media.downloadFormats);
  if (ffmpeg.problem) logger.warn(ffmpeg.problem);

  if (config.demoCatalogue) {
    const importer = createImporter({
      db: database.db,
      ...importerMedia(config.media),
      labels: { ownLabelName: config.labels.ownLabelName },
    });
    await loadDemoCatalogueIfEmpty({ repo: createCatalogueRepository(database.db), importer, dataDir: config.dataDir, logger });
  }

  const payments = paymentTargets(config);
  const messaging = messagingTargets(config);
  const app = createApp({
    config,
    database,
    logger,
    ffmpeg,
    ...payments,
    testMode: payments.testMode || messaging.testMode,
    mounts: [...payments.mounts, ...messaging.mounts],
    messagesPage: messaging.messagesPage,
  });
  const outbox = createOutboxWorker({ db: database.db, senders: messaging.senders, logger, pollMs: config.outboxPollMs });
  // Without ffmpeg the media worker still makes release ZIPs for object storage.
  const encoder = createEncoder({
    db: database.db,
    storage: createMediaStorage(config.media.storage),
    ffmpegPath: ffmpeg.available ? ffmpeg.path : null,
    logger,
  });
  const server = app.listen(config.port, config.host, () => {
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1000;
    const shown = config.host === '0.0.0.0' ? 'localhost' : config.host;
    logger.info(`${config.storeName} is open at http://${shown}:${config.port} (${database.dialect})`);
    // After listening: in the demo the SMS stand-in the worker calls is served by this server.
    outbox.start();
    encoder.start();
  });

  const stop = (signal: string) => {
    logger.info({ signal }, 'Shutting down: finishing requests in flight');
    // The worker first: it finishes the sends in flight (recording each) before the server and database go;
    // results the database does not take (it is away) are retried for a while (docs/messages.md).
    void (async () => {
      await outbox.stop();
      await encoder.stop();
      await closeGracefully(server);
      // Writes the usage counts still buffered, so it must finish before the database closes.
      await app.close();
      messaging.close();
      await database.close();
      logger.info('Stopped');
      process.exit(0);
    })();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

/**
 * The payment accounts the store uses. For each provider not configured (never in production), a
 * local stand-in is served beside the store (/sandbox/paypal, /sandbox/payforit), so the demo runs
 * a whole purchase.
 */
function paymentTargets(config: Config) {
  const loopback = `http://127.0.0.1:${config.port}`;
  const publicBase = config.publicUrl ?? `http://localhost:${config.port}`;
  const mounts: { path: string; handler: express.Handler }[] = [];
  let paypal = config.paypal;
  if (!paypal) {
    const account = { clientId: 'stand-in-client', clientSecret: randomBytes(24).toString('hex'), webhookId: 'WHSTANDIN01' };
    const sandbox = createPayPalSandbox({
      ...account,
      webhookUrl: `${loopback}/webhooks/paypal`,
      publicUrl: `${publicBase}${PAYPAL_SANDBOX_PATH}`,
    });
    paypal = { apiBase: `${loopback}${PAYPAL_SANDBOX_PATH}`, ...account };
    mounts.push({ path: PAYPAL_SANDBOX_PATH, handler: sandbox.app });
  }
  let payforit = config.payforit;
  if (!payforit) {
    const account = { merchantId: 'stand-in-merchant', secret: randomBytes(32).toString('hex') };
    const sandbox = createPayForItSandbox({
      ...account,
      merchantName: config.storeName,
      callbackUrl: `${loopback}${PAYFORIT_NOTIFICATION_PATH}`,
      returnOrigins: [publicBase, loopback, `http://localhost:${config.port}`],
      maxPence: config.payforitMaxPence,
    });
    // Server-to-server calls on loopback; the shopper's browser goes to the public address.
    payforit = {
      apiBase: `${loopback}${PAYFORIT_SANDBOX_PATH}`,
      payPageBase: `${publicBase}${PAYFORIT_SANDBOX_PATH}`,
      ...account,
      maxPence: config.payforitMaxPence,
    };
    mounts.push({ path: PAYFORIT_SANDBOX_PATH, handler: sandbox.app });
  }
  return { paypal, payforit, testMode: !config.paypal || !config.payforit, mounts };
}

/**
 * Where messages go. Without SMTP_URL (never in production) email is written to DATA_DIR/mail;
 * without a Twilio account, texts go to the SMS stand-in served beside the store (/sandbox/sms),
 * called over loopback like the real API. Either way the test-mode page /sandbox/messages shows them.
 */
function messagingTargets(config: Config) {
  const mounts: { path: string; handler: express.Handler }[] = [];
  const email = createEmailSender({ smtpUrl: config.mail.smtpUrl, from: config.mail.from, mailDir: config.mail.folder });
  let twilio = config.twilio;
  let sandbox: ReturnType<typeof createTwilioSandbox> | null = null;
  if (!twilio) {
    const account = newStandInAccount();
    sandbox = createTwilioSandbox(account);
    twilio = { apiBase: `http://127.0.0.1:${config.port}${SMS_SANDBOX_PATH}`, ...account, from: 'NLMusic' };
    mounts.push({ path: SMS_SANDBOX_PATH, handler: sandbox.app });
  }
  const sms = createTwilioSmsSender(twilio);
  const testMode = email.kind === 'folder' || sandbox !== null;
  const messagesPage = testMode
    ? {
        path: MESSAGES_PAGE_PATH,
        handler: messagesPageRoutes({ mailDir: email.kind === 'folder' ? config.mail.folder : null, sms: sandbox?.control ?? null }),
      }
    : undefined;
  return {
    senders: { email, sms },
    mounts,
    messagesPage,
    testMode,
    close() {
      email.close();
      sms.close();
      sandbox?.close();
    },
  };
}

/** Stops accepting connections, lets requests in flight finish, and gives up after a grace period. */
function closeGracefully(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      server.closeAllConnections();
      resolve();
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

main().catch((error) => {
  if (error instanceof ConfigError) {
    console.error(error.message);
  } else {
    console.error('The store could not start:', error instanceof Error ? error.message : error);
  }
  process.exit(1);
});
