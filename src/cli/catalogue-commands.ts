import path from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { createImporter, type ImportSummary } from '../catalogue/importer/importer.js';
import { importerMedia } from '../media/index.js';
import { withDatabase } from './context.js';

export function registerCatalogueCommands(program: Command): void {
  program
    .command('import')
    .description('Import a folder tree of MP3 files and FLAC or WAV masters: tags, cover art, 30-second previews. Safe to run again.')
    .argument('<dir>', 'folder to import, searched recursively')
    .option('--no-progress', 'do not draw a progress bar')
    .option('--label <name>', "the label of files without a label tag (default: the store's own label, OWN_LABEL_NAME)")
    .action(async (dir: string, options: { progress: boolean; label?: string }) => {
      const summary = await withDatabase(async ({ config, database }) => {
        const importer = createImporter({
          db: database.db,
          ...importerMedia(config.media),
          labels: { fallback: options.label?.trim() || undefined, ownLabelName: config.labels.ownLabelName },
        });
        const bar = new SingleBar({ format: 'Importing [{bar}] {value}/{total} files | {file}', hideCursor: true }, Presets.shades_classic);
        const showBar = options.progress && process.stdout.isTTY;
        return importer
          .importFolder(path.resolve(dir), {
            onStart: (total) => showBar && bar.start(total, 0, { file: '' }),
            onFile: (file) => showBar && bar.increment({ file: path.basename(file).slice(0, 40) }),
          })
          .finally(() => showBar && bar.stop());
      });
      printSummary(summary);
      if (summary.added + summary.updated + summary.unchanged === 0 && summary.skipped.length > 0) process.exitCode = 2;
    });
}

function printSummary(summary: ImportSummary): void {
  console.log(`Added ${summary.added}, updated ${summary.updated}, unchanged ${summary.unchanged}, skipped ${summary.skipped.length}.`);
  for (const { file, reason } of summary.skipped) console.log(`  skipped ${file}: ${reason}`);
}
