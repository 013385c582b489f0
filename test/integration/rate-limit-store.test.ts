import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Options } from 'express-rate-limit';
import { toDbTime } from '../../src/db/dialect.js';
import { errorHandler } from '../../src/web/errors.js';
import { createLogger } from '../../src/web/logging.js';
import {
  createRateLimitStores,
  perClientLimit,
  type DatabaseRateLimitStore,
  type RateLimitStores,
} from '../../src/web/rate-limit-store.js';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../helpers/databases.js';

const WINDOW_MS = 60_000;

/** The rate-limit counts in the database: atomic, windowed, swept, and never holding the key itself. */
describe.each(databaseKinds())('database rate-limit store on $kind', ({ kind, skip }) => {
  let database: TestDatabase;
  let now = new Date('2026-03-01T12:00:00Z');
  let stores: RateLimitStores;
  const storeFor = (name: string) => {
    const store = stores.store(name) as DatabaseRateLimitStore;
    store.init({ windowMs: WINDOW_MS } as Options);
    return store;
  };

  beforeAll(async () => {
    if (skip) return;
    database = await createTestDatabase(kind);
    stores = createRateLimitStores({
      db: database.db,
      secret: 'rate-limit-test-secret-0123456789abcdef',
      clock: () => now,
      sweepEveryMs: 0,
    });
  });
  afterAll(async () => {
    stores?.close();
    await database?.drop();
  });

  it.skipIf(skip)('counts concurrent hits exactly: each increment sees its own count', async () => {
    const store = storeFor('concurrent');
    const results = await Promise.all(Array.from({ length: 40 }, () => store.increment('198.51.100.7')));
    expect(results.map((r) => r.totalHits).sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect((await store.get('198.51.100.7'))?.totalHits).toBe(40);
    expect(results[0]!.resetTime!.getTime()).toBe(now.getTime() + WINDOW_MS);
  });

  it.skipIf(skip)('starts a new window once the old one has ended, and keeps limiters and clients apart', async () => {
    const store = storeFor('windows');
    const other = storeFor('other-limiter');
    await store.increment('203.0.113.1');
    await store.increment('203.0.113.1');
    expect((await store.increment('203.0.113.2')).totalHits).toBe(1);
    expect((await other.increment('203.0.113.1')).totalHits).toBe(1);
    now = new Date(now.getTime() + WINDOW_MS);
    expect(await store.get('203.0.113.1')).toBeUndefined();
    const fresh = await store.increment('203.0.113.1');
    expect(fresh.totalHits).toBe(1);
    expect(fresh.resetTime!.getTime()).toBe(now.getTime() + WINDOW_MS);
    await store.decrement('203.0.113.1');
    expect((await store.get('203.0.113.1'))?.totalHits).toBe(0);
    await store.resetKey('203.0.113.1');
    expect(await store.get('203.0.113.1')).toBeUndefined();
  });

  it.skipIf(skip)('stores a keyed hash, never the key, and sweeps ended windows', async () => {
    const store = storeFor('privacy');
    await store.increment('2001:db8::1');
    await store.increment('someone@example.com');
    const rows = await database.db.selectFrom('rate_limits').selectAll().execute();
    const text = JSON.stringify(rows);
    for (const secret of ['2001:db8::1', 'someone@example.com', '203.0.113', '198.51.100']) expect(text).not.toContain(secret);
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.key_hash))).toBe(true);
    // Another secret gives another hash: the table cannot be matched against a list of addresses.
    const elsewhere = createRateLimitStores({ db: database.db, secret: 'a-different-secret-0123456789abcdefgh', sweepEveryMs: 0 });
    expect((elsewhere.store('privacy') as DatabaseRateLimitStore).hash('2001:db8::1')).not.toBe(store.hash('2001:db8::1'));
    elsewhere.close();

    const live = rows.filter((r) => r.reset_at > toDbTime(now)).length;
    expect(live).toBeGreaterThan(0);
    now = new Date(now.getTime() + WINDOW_MS);
    expect(await stores.sweep()).toBe(rows.length);
    expect(await database.db.selectFrom('rate_limits').selectAll().execute()).toEqual([]);
  });

  it.skipIf(skip)('answers a client over the limit with a 429 and its message, and ignores a forged X-Forwarded-For quietly', async () => {
    const app = express();
    app.post(
      '/try',
      perClientLimit({ max: 2, minutes: 15, store: stores.store('http-try'), message: 'Slow down, please.' }),
      (_req, res) => void res.send('ok'),
    );
    app.set('views', 'views').set('view engine', 'ejs');
    app.use(errorHandler(createLogger('silent')));
    const server = http.createServer(app).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const consoleError = vi.spyOn(console, 'error');
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/try`;
      // A different forged address each time: with trust proxy off it must not make a new client.
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push(await fetch(url, { method: 'POST', headers: { 'x-forwarded-for': `203.0.113.${i}` } }));
      expect(statuses.map((r) => r.status)).toEqual([200, 200, 429]);
      expect(await statuses[2]!.text()).toContain('Slow down, please.');
      expect(consoleError).not.toHaveBeenCalled();
    } finally {
      consoleError.mockRestore();
      server.close();
    }
  });

  it.skipIf(skip)('refuses one limiter name used twice (two limiters would count into one row)', () => {
    stores.store('once');
    expect(() => stores.store('once')).toThrow(/already used/);
    expect(() => stores.store('Bad Name')).toThrow(/bad limiter name/);
  });
});
