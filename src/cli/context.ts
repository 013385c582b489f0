import { loadConfig, loadDotEnv, type Config } from '../config.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../db/database.js';

/** Opens the configured, migrated database for one command and always closes it afterwards. */
export async function withDatabase<T>(
  work: (ctx: { config: Config; database: DatabaseHandle }) => Promise<T>,
  options: { migrate: boolean } = { migrate: true },
): Promise<T> {
  loadDotEnv();
  const config = loadConfig();
  const database = await openDatabase(config.database);
  try {
    if (options.migrate) await migrateToLatest(database.db);
    return await work({ config, database });
  } finally {
    await database.close();
  }
}
