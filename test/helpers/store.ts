import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { createApp } from '../../src/app.js';
import { createImporter } from '../../src/catalogue/importer/importer.js';
import { createMediaStore } from '../../src/catalogue/media-store.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/web/logging.js';
import { createTestDatabase, type DatabaseKind, type TestDatabase } from './databases.js';

export interface TestStore {
  baseUrl: string;
  config: Config;
  database: TestDatabase;
  close(): Promise<void>;
}

/**
 * The real app on a real database and a real port, stocked with the fixture library through the
 * real importer. `env` overrides settings; `clock` pins time.
 */
export async function startTestStore(
  kind: DatabaseKind,
  options: { env?: Record<string, string>; clock?: () => Date; stock?: boolean } = {},
): Promise<TestStore> {
  const database = await createTestDatabase(kind);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-data-'));
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
  const app = createApp({ config, database, logger: createLogger('silent'), clock: options.clock });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    config,
    database,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      app.close();
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
