import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { VirtualShopper, expectStatus } from './lib/client.js';
import { PRODUCTION_NODE_FLAGS, startStore, withBenchDatabase } from './lib/store.js';

/**
 * npx tsx bench/page-allocations.ts: what one shopper's release page costs the compiled store, in
 * bytes allocated (V8's sampling heap profiler, bench/lib/allocation-sampler.cjs) and CPU, over an
 * exact number of requests (BENCH_REQUESTS, 20,000) at 32 connections, asking as a browser does
 * (BENCH_ENCODING="" asks for no compression). Allocation is steadier than CPU on a shared machine,
 * and it is what the 1 MB young generation pays for. Uses the catalogue part's bench database
 * (DATABASE_URL, default MySQL's store_bench; run the catalogue part once first).
 */
interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

const databaseUrl = process.env.DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/store_bench';
const requests = Number(process.env.BENCH_REQUESTS ?? 20_000);
const encoding = process.env.BENCH_ENCODING ?? 'gzip, deflate, br';
const PORT = 3960;
const profileFile = path.join(os.tmpdir(), `page-allocations-${process.pid}.json`);
process.env.BENCH_NODE_FLAGS = [...PRODUCTION_NODE_FLAGS, '--require', path.resolve('bench/lib/allocation-sampler.cjs')].join(' ');

const release = await withBenchDatabase(databaseUrl, ({ db }) =>
  db.selectFrom('releases').select(['id', 'slug']).orderBy('id').executeTakeFirstOrThrow(),
);
const store = await startStore({ port: PORT, databaseUrl, build: 'compiled', env: { BENCH_ALLOCATIONS_FILE: profileFile } });
try {
  const shopper = new VirtualShopper(`http://127.0.0.1:${PORT}`);
  expectStatus(await shopper.get(`/release/${release.slug}`), 200, 'release page');
  expectStatus(await shopper.post('/basket/add', { kind: 'release', id: String(release.id) }), 303, 'add to basket');
  const options = {
    url: `http://127.0.0.1:${PORT}/release/${release.slug}`,
    headers: { cookie: shopper.cookieHeader(), ...(encoding ? { 'accept-encoding': encoding } : {}) },
    connections: 32,
  };
  await autocannon({ ...options, amount: 3000 }); // warm-up
  store.process.kill('SIGUSR2');
  await new Promise((resolve) => setTimeout(resolve, 300));
  const cpuBefore = store.cpuMs();
  const result = await autocannon({ ...options, amount: requests });
  if (result.non2xx > 0) throw new Error(`${result.non2xx} answers were not 2xx`);
  console.log(
    `${requests} requests, ${result.requests.average} req/s, ${((store.cpuMs() - cpuBefore) / requests).toFixed(3)} ms of store CPU each`,
  );
} finally {
  await store.stop();
}
const profile = JSON.parse(fs.readFileSync(profileFile, 'utf8')) as { head: HeapNode };
fs.rmSync(profileFile);
const bySite = new Map<string, number>();
const walk = (node: HeapNode) => {
  const site = `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url.replace(/^.*node_modules\//, '')}:${node.callFrame.lineNumber}`;
  bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
  node.children.forEach(walk);
};
walk(profile.head);
const total = [...bySite.values()].reduce((a, b) => a + b, 0);
console.log(`${(total / requests / 1024).toFixed(1)} KB allocated per request (sampled; the profile counts the whole process)`);
for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 15))
  console.log(`  ${(bytes / requests / 1024).toFixed(2).padStart(6)} KB  ${site}`);
