import type { AddressInfo } from 'node:net';
import http from 'node:http';
import express from 'express';
import session from 'express-session';
import { Migrator } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../migrations/index.js';
import { regenerateSession } from '../../src/customers/session.js';
import { migrateToLatest } from '../../src/db/database.js';
import { toDbTime } from '../../src/db/dialect.js';
import { csrfProtection } from '../../src/web/security.js';
import { createTestDatabase, databaseKinds } from '../helpers/databases.js';
import { Shopper } from '../helpers/shopper.js';

/**
 * A session that someone signed in to takes its own CSRF token only; a basket session also takes a
 * form this same browser was given before the basket began (src/web/security.ts). What tells them
 * apart is one mark, set where every sign-in regenerates its session, not a list of keys that a new
 * kind of sign-in would have to remember to join.
 */
describe('the CSRF check of a session signed in by a new kind of sign-in', () => {
  const secret = 'identity-test-secret-0123456789abcdef';
  let server: http.Server;
  let baseUrl: string;

  beforeAll(async () => {
    const app = express();
    app.use(session({ secret, resave: false, saveUninitialized: false, store: new session.MemoryStore() }));
    app.use(express.urlencoded({ extended: false }));
    const csrf = csrfProtection(secret);
    app.use(csrf.exposeToken, csrf.protect);
    app.get('/form', (_req, res) => void res.send(`<input name="_csrf" value="${(res.locals.csrfToken as () => string)()}">`));
    app.post('/basket', (req, res) => {
      req.session.basket = { releases: [1], tracks: [] };
      res.send('added');
    });
    // A sign-in of a kind the CSRF check has never heard of: it only regenerates the session, as every sign-in must.
    app.post('/sign-in-as-label', async (req, res) => {
      await regenerateSession(req, { labelId: 7 } as never);
      res.send('signed in');
    });
    app.post('/act', (_req, res) => void res.send('done'));
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('takes this browser’s earlier form for a basket, and only the session’s own token once signed in', async () => {
    const browser = new Shopper(baseUrl);
    const visitorToken = (await browser.get('/form')).html.querySelector('input')!.getAttribute('value')!;
    expect(visitorToken).toMatch(/^v\./);
    expect((await browser.post('/basket', { _csrf: visitorToken })).status).toBe(200);
    expect((await browser.post('/act', { _csrf: visitorToken })).status).toBe(200);
    expect((await browser.post('/sign-in-as-label', { _csrf: visitorToken })).status).toBe(200);
    expect((await browser.post('/act', { _csrf: visitorToken })).status).toBe(403);
    const ownToken = (await browser.get('/form')).html.querySelector('input')!.getAttribute('value')!;
    expect(ownToken).not.toMatch(/^v\./);
    expect((await browser.post('/act', { _csrf: ownToken })).status).toBe(200);
  });
});

/** Sessions signed in before the mark existed get it from migration 075, so none of them starts taking a visitor's token. */
describe.each(databaseKinds())('migration 075 on $kind', ({ kind, skip }) => {
  it.skipIf(skip)('marks the sessions of someone signed in or signing in, and only those', async () => {
    const database = await createTestDatabase(kind, { migrated: false });
    try {
      const migrator = new Migrator({ db: database.db, provider: { getMigrations: async () => migrations } });
      const { error } = await migrator.migrateTo('040_labels');
      expect(error).toBeUndefined();
      const cookie = { originalMaxAge: 1000, httpOnly: true, path: '/' };
      const sessions = {
        customer: { cookie, csrfToken: 'a', basket: { releases: [1], tracks: [] }, customerId: 5, signedInAt: 1, lastSeenAt: 1 },
        typingCode: { cookie, signInContact: { email: 'fan@example.com' } },
        operator: { cookie, operatorId: 2, csrfToken: 'b' },
        basket: { cookie, csrfToken: 'c', basket: { releases: [], tracks: [3] } },
      };
      const expires = toDbTime(new Date(Date.now() + 3600_000));
      for (const [sid, data] of Object.entries(sessions))
        await database.db
          .insertInto('sessions')
          .values({ sid, expires_at: expires, data: JSON.stringify(data) })
          .execute();
      await migrateToLatest(database.db);
      const rows = await database.db.selectFrom('sessions').select(['sid', 'data']).execute();
      const after = Object.fromEntries(rows.map((row) => [row.sid, JSON.parse(row.data) as Record<string, unknown>]));
      expect(after).toEqual({
        customer: { identity: true, ...sessions.customer },
        typingCode: { identity: true, ...sessions.typingCode },
        operator: { identity: true, ...sessions.operator },
        basket: sessions.basket,
      });
    } finally {
      await database.drop();
    }
  });
});
