import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { createImporter } from '../../src/catalogue/importer/importer.js';
import { createMediaFiles } from '../../src/media/media-files.js';
import { createLocalStorage } from '../../src/media/local-storage.js';
import type { DatabaseHandle } from '../../src/db/database.js';
import { startPayPalSandbox } from '../../sandbox/paypal/index.js';
import { newStandInAccount, startTwilioSandbox } from '../../sandbox/twilio/index.js';
import { serverEnv, startServerProcess, type ServerProcess } from './server-process.js';
import { freePort, startSmtpServer, type TestSmtpServer } from './smtp.js';

export const FLEET_PAYPAL_ACCOUNT = { clientId: 'fleet-client', clientSecret: 'fleet-secret', webhookId: 'WHFLEET0001' };
const SESSION_SECRET = 'fleet-session-secret-shared-by-every-process-0123456789';

/**
 * What several store processes share, as in production: one database (stocked with the fixture
 * library), one media folder, one session secret, and the outside services, here the PayPal
 * stand-in, a real SMTP server and the SMS gateway stand-in, each on a port of its own in this
 * test process so every store process reaches the same ones. PayPal sends its webhooks to the
 * first process's port (`ports[0]`), as it would to a load balancer.
 */
export interface Fleet {
  ports: number[];
  dataDir: string;
  paypal: Awaited<ReturnType<typeof startPayPalSandbox>>;
  smtp: TestSmtpServer;
  sms: Awaited<ReturnType<typeof startTwilioSandbox>>;
  /** The environment a store process runs with (PORT is added by start). */
  env: NodeJS.ProcessEnv;
  /** Starts a store process on ports[index]. */
  start(index: number, extraEnv?: Record<string, string>): Promise<ServerProcess>;
  /** Stops every process still running (kill -9: the test is over) and the stand-ins. */
  close(): Promise<void>;
}

export interface FleetOptions {
  database: DatabaseHandle & { url: string };
  processes: number;
  /** Extra settings for every process. */
  env?: Record<string, string>;
  /** The PayPal stand-in's waits between webhook deliveries (one retry each). */
  webhookRetryDelaysMs?: number[];
  /** Run the compiled build (dist/src/server.js) instead of the source. */
  compiled?: boolean;
}

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-fleet-'));
  const mediaDir = path.join(dataDir, 'media');
  await createImporter({ db: options.database.db, media: createMediaFiles(createLocalStorage(mediaDir)) }).importFolder(
    inject('fixtureLibrary'),
  );
  const ports: number[] = [];
  for (let i = 0; i < options.processes; i++) ports.push(await freePort());
  const paypal = await startPayPalSandbox({
    ...FLEET_PAYPAL_ACCOUNT,
    webhookUrl: `http://127.0.0.1:${ports[0]}/webhooks/paypal`,
    webhookRetryDelaysMs: options.webhookRetryDelaysMs ?? [200, 500, 1000, 2000, 4000],
    port: 0,
    host: '127.0.0.1',
  });
  const smsAccount = newStandInAccount();
  const smtp = await startSmtpServer();
  const sms = await startTwilioSandbox({ ...smsAccount, port: 0, host: '127.0.0.1' });
  const env = serverEnv({
    DATABASE_URL: options.database.url,
    DATA_DIR: dataDir,
    MEDIA_DIR: mediaDir,
    SESSION_SECRET,
    PAYPAL_API_BASE: paypal.url,
    PAYPAL_CLIENT_ID: FLEET_PAYPAL_ACCOUNT.clientId,
    PAYPAL_CLIENT_SECRET: FLEET_PAYPAL_ACCOUNT.clientSecret,
    PAYPAL_WEBHOOK_ID: FLEET_PAYPAL_ACCOUNT.webhookId,
    PAYPAL_TIMEOUT_MS: '3000',
    SMTP_URL: smtp.url,
    MAIL_FROM: 'Northern Lights Music <orders@example.com>',
    TWILIO_API_BASE: sms.url,
    TWILIO_ACCOUNT_SID: smsAccount.accountSid,
    TWILIO_AUTH_TOKEN: smsAccount.authToken,
    SMS_FROM: 'NLMusic',
    OUTBOX_POLL_MS: '100',
    ...options.env,
  });
  const running = new Set<ServerProcess>();
  return {
    ports,
    dataDir,
    paypal,
    smtp,
    sms,
    env,
    async start(index, extraEnv = {}) {
      const server = await startServerProcess({ ...env, ...extraEnv }, ports[index]!, { compiled: options.compiled });
      running.add(server);
      void server.exited.then(() => running.delete(server));
      return server;
    },
    async close() {
      await Promise.all([...running].map((s) => s.crash()));
      await paypal.close();
      await sms.close();
      await smtp.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
