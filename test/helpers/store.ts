import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { createApp, type StoreApp } from '../../src/app.js';
import { createImporter } from '../../src/catalogue/importer/importer.js';
import { createMediaStore } from '../../src/catalogue/media-store.js';
import { loadConfig, type Config } from '../../src/config.js';
import { startPayPalSandbox } from '../../src/sandbox/paypal/index.js';
import { createLogger } from '../../src/web/logging.js';
import { createTestDatabase, type DatabaseKind, type TestDatabase } from './databases.js';

export interface TestStore {
  baseUrl: string;
  config: Config;
  database: TestDatabase;
  app: StoreApp;
  paypal: Awaited<ReturnType<typeof startPayPalSandbox>>;
  close(): Promise<void>;
}

const PAYPAL_ACCOUNT = { clientId: 'test-client', clientSecret: 'test-secret', webhookId: 'WHTEST0001' };

/**
 * The real app on a real database and a real port, stocked with the fixture library through the
 * real importer, paying through the PayPal stand-in on a port of its own. `env` overrides
 * settings; `clock` pins time.
 */
export async function startTestStore(
  kind: DatabaseKind,
  options: { env?: Record<string, string>; clock?: () => Date; stock?: boolean } = {},
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
    SESSION_SECRET: 'test-session-secret-that-is-long-enough-0123456789',
    ...options.env,
  });
  if (options.stock !== false) {
    await createImporter({ db: database.db, media: createMediaStore(config.mediaDir) }).importFolder(inject('fixtureLibrary'));
  }
  const app = createApp({
    config,
    database,
    logger: createLogger('silent'),
    clock: options.clock,
    paypal: { apiBase: paypal.url, ...PAYPAL_ACCOUNT },
    testMode: true,
  });
  server.on('request', app);
  return {
    baseUrl,
    config,
    database,
    app,
    paypal,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      app.close();
      await paypal.close();
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
