import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { DATA_DIR, startStore } from './lib/store.js';

/**
 * The demo home page as a first-time visitor's browser loads it: Chromium (Debian's), an empty
 * cache, 1280x800, until the network is idle; the bytes that came over the wire (compressed
 * bodies and headers), by kind. The demo catalogue is made once in a SQLite file of its own.
 */
const PORT = 3906;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function benchWeight(_databaseUrl: string, log: (m: string) => void) {
  const dir = path.resolve(DATA_DIR, 'weight');
  fs.mkdirSync(dir, { recursive: true });
  log('  starting the store with the demo catalogue (made on first use)...');
  const store = await startStore({
    port: PORT,
    databaseUrl: path.join(dir, 'demo.sqlite'),
    env: { DEMO_CATALOGUE: 'true', DATA_DIR: dir },
  });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const byKind = new Map<string, { requests: number; bytes: number }>();
    const finished: Promise<void>[] = [];
    page.on('requestfinished', (request) => {
      finished.push(
        request.sizes().then((sizes) => {
          const kind = request.resourceType();
          const entry = byKind.get(kind) ?? { requests: 0, bytes: 0 };
          entry.requests += 1;
          entry.bytes += sizes.responseBodySize + sizes.responseHeadersSize;
          byKind.set(kind, entry);
        }),
      );
    });
    const response = await page.goto(`http://127.0.0.1:${PORT}/`, { waitUntil: 'networkidle' });
    if (!response?.ok()) throw new Error(`home page: ${response?.status()}`);
    await Promise.all(finished);
    const total = [...byKind.values()].reduce((n, k) => n + k.bytes, 0);
    const kinds = Object.fromEntries(
      [...byKind].map(([kind, k]) => [kind, { requests: k.requests, kb: Number((k.bytes / 1024).toFixed(1)) }]),
    );
    return { page: '/', viewport: '1280x800', transferred_kb: Number((total / 1024).toFixed(1)), by_kind: kinds };
  } finally {
    await browser.close();
    await store.stop();
  }
}
