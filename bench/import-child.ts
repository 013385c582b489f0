import { createImporter } from '../src/catalogue/importer/importer.js';
import { createMediaFiles } from '../src/media/media-files.js';
import { createLocalStorage } from '../src/media/local-storage.js';
import { parseDatabaseUrl } from '../src/config.js';
import { migrateToLatest, openDatabase } from '../src/db/database.js';

/** The importer in a process of its own (as `npx store import` runs it), timed from the first file to the last. */
const [library, mediaDir, databaseUrl] = process.argv.slice(2) as [string, string, string];
const database = await openDatabase(parseDatabaseUrl(databaseUrl, 'data/bench'));
await migrateToLatest(database.db);
const importer = createImporter({ db: database.db, media: createMediaFiles(createLocalStorage(mediaDir)) });
const started = performance.now();
const summary = await importer.importFolder(library);
const ms = performance.now() - started;
await database.close();
process.send!({
  ms,
  added: summary.added,
  updated: summary.updated,
  unchanged: summary.unchanged,
  skipped: summary.skipped.length,
  firstSkip: summary.skipped[0]?.reason,
});
process.disconnect();
