import path from 'node:path';
import type { TestStore } from './store.js';

/** `npx store`, run by the tests as an operator runs it on the store's machine. */
export const STORE_BIN = path.resolve('bin/store.js');

/** The environment `npx store` gets against a test store: its database and data folder, quiet logs, development mode. */
export function storeCliEnv(store: TestStore, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: store.database.url,
    DATA_DIR: store.config.dataDir,
    LOG_LEVEL: 'warn',
    NODE_ENV: 'development',
    ...extra,
  };
}
