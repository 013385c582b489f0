import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { generateDemoLibrary } from './demo/library.js';
import type { Importer } from './importer/importer.js';
import type { CatalogueRepository } from './repository.js';

/**
 * On a store with no music yet, fills the shelves with the generated demo library, through the
 * same importer a real shop uses. The generated files are kept so a reset store reloads quickly.
 */
export async function loadDemoCatalogueIfEmpty(deps: { repo: CatalogueRepository; importer: Importer; dataDir: string; logger: Logger }) {
  const { repo, importer, dataDir, logger } = deps;
  if (!(await repo.isEmpty())) return;
  const dir = path.join(dataDir, 'demo-library');
  const ready = path.join(dir, '.complete');
  if (!(await exists(ready))) {
    logger.info('Generating the demo catalogue (first start only)...');
    await fs.rm(dir, { recursive: true, force: true });
    await generateDemoLibrary(dir);
    await fs.writeFile(ready, new Date().toISOString());
  }
  const summary = await importer.importFolder(dir);
  logger.info({ added: summary.added, skipped: summary.skipped.length }, 'Demo catalogue loaded');
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}
