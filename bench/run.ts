import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { benchCatalogue, prepareCatalogue } from './catalogue.js';
import { benchDownload } from './download.js';
import { benchImport } from './import.js';
import { benchMedia } from './media.js';
import { benchPurchase } from './purchase.js';
import { benchWeight } from './weight.js';
import { benchDatabaseUrl, type BenchDb } from './lib/store.js';
import { printTables, TARGETS } from './lib/report.js';

/**
 * npm run bench [-- --only catalogue,purchase,download,import,weight,media] [-- --db sqlite|mysql|both]
 *
 * Each part starts the store in a process of its own (production mode) and measures it from this
 * one; the figures go to bench/results/<time>.json and a table. It asserts nothing about speed,
 * but a part whose shoppers see a wrong answer fails.
 */
const PARTS = {
  catalogue: benchCatalogue,
  purchase: benchPurchase,
  download: benchDownload,
  import: benchImport,
  weight: benchWeight,
  media: benchMedia,
} as const;
/** Parts with a database of their own (the others share the 100,000-track catalogue; the page weight needs none). */
const OWN_DATABASE = { import: 'import', media: 'media' } as const;
type Part = keyof typeof PARTS;

function options(): { parts: Part[]; dbs: BenchDb[] } {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      db: { type: 'string', default: process.env.DATABASE_URL?.startsWith('mysql') ? 'mysql' : 'both' },
    },
  });
  const parts = (values.only?.split(',').map((p) => p.trim()) ?? Object.keys(PARTS)) as Part[];
  const unknown = parts.filter((p) => !(p in PARTS));
  if (unknown.length) throw new Error(`--only: unknown part ${unknown.join(', ')} (choose from ${Object.keys(PARTS).join(', ')})`);
  const dbs: BenchDb[] = values.db === 'both' ? ['sqlite', 'mysql'] : [values.db as BenchDb];
  if (!dbs.every((d) => d === 'sqlite' || d === 'mysql')) throw new Error('--db: sqlite, mysql or both');
  return { parts, dbs };
}

async function main() {
  const { parts, dbs } = options();
  const results: Record<string, Record<string, unknown>> = {};
  const log = (m: string) => console.log(m);
  for (const kind of dbs) {
    results[kind] = {};
    // Every part but import, media and weight runs on the 100,000-track catalogue, generated on first use.
    if (parts.some((p) => !(p in OWN_DATABASE) && p !== 'weight')) await prepareCatalogue(benchDatabaseUrl(kind), log);
    for (const part of parts) {
      log(`\n${kind}: ${part}`);
      const started = Date.now();
      const url = benchDatabaseUrl(kind, part in OWN_DATABASE ? OWN_DATABASE[part as keyof typeof OWN_DATABASE] : 'catalogue');
      results[kind]![part] = await PARTS[part](url, log);
      log(`  (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    }
  }
  const report = {
    date: new Date().toISOString(),
    machine: {
      cores: os.cpus().length,
      cpu: os.cpus()[0]?.model,
      memory_gb: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      load_average: os.loadavg().map((l) => Number(l.toFixed(2))),
    },
    note: 'load generator, stand-ins and store on the same machine',
    targets: TARGETS,
    results,
  };
  const dir = path.resolve('bench/results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${report.date.replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  printTables(report.results);
  console.log(`\nWritten to ${path.relative(process.cwd(), file)}`);
}

main().catch((error) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
