import type { Server } from 'node:http';
import { createApp } from './app.js';
import { loadDemoCatalogueIfEmpty } from './catalogue/demo-catalogue.js';
import { createImporter } from './catalogue/importer/importer.js';
import { createMediaStore } from './catalogue/media-store.js';
import { createCatalogueRepository } from './catalogue/repository.js';
import { ConfigError, loadConfig, loadDotEnv } from './config.js';
import { migrateToLatest, openDatabase } from './db/database.js';
import { createLogger } from './web/logging.js';

const SHUTDOWN_GRACE_MS = 10_000;

/** Start-up: config -> database -> migrations -> demo catalogue -> app -> listen; SIGTERM stops gracefully. */
async function main() {
  loadDotEnv();
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const database = await openDatabase(config.database);
  const applied = await migrateToLatest(database.db);
  if (applied.length) logger.info({ migrations: applied }, 'Database migrated');

  if (config.demoCatalogue) {
    const importer = createImporter({ db: database.db, media: createMediaStore(config.mediaDir) });
    await loadDemoCatalogueIfEmpty({ repo: createCatalogueRepository(database.db), importer, dataDir: config.dataDir, logger });
  }

  const app = createApp({ config, database, logger });
  const server = app.listen(config.port, config.host, () => {
    const shown = config.host === '0.0.0.0' ? 'localhost' : config.host;
    logger.info(`${config.storeName} is open at http://${shown}:${config.port} (${database.dialect})`);
  });

  const stop = (signal: string) => {
    logger.info({ signal }, 'Shutting down: finishing requests in flight');
    closeGracefully(server).then(async () => {
      app.close();
      await database.close();
      logger.info('Stopped');
      process.exit(0);
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
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
