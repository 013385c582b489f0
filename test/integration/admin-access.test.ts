import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addAffiliate } from '../../src/affiliates/repository.js';
import { LOCKOUT_FAILURES } from '../../src/admin/access/sign-in.js';
import { ADMIN_IDLE_MINUTES } from '../../src/admin/access/session.js';
import { toDbTime } from '../../src/db/dialect.js';
import {
  adminRoutesOf,
  createOperator,
  fillPath,
  latestOperatorCode,
  PUBLIC_ADMIN_PATHS,
  signInAsOperator,
  signInWith,
} from '../helpers/admin.js';
import { databaseKinds } from '../helpers/databases.js';
import { Shopper } from '../helpers/shopper.js';
import { signInAffiliate, signInCustomer } from '../helpers/sign-in.js';
import { startTestStore, type TestStore } from '../helpers/store.js';
import { STORE_BIN, storeCliEnv } from '../helpers/cli.js';

const run = promisify(execFile);

describe.each(databaseKinds())('admin access on $kind', ({ kind, skip }) => {
  let store: TestStore;
  let offsetMs = 0;
  let orderReference: string;
  let releaseSlug: string;

  beforeAll(async () => {
    if (skip) return;
    store = await startTestStore(kind, { clock: () => new Date(Date.now() + offsetMs), env: { SIGN_IN_LIMIT_PER_CLIENT: '1000' } });
    // One real order, so routes with a :reference are tried on something that exists.
    const shopper = new Shopper(store.baseUrl);
    const track = await store.database.db
      .selectFrom('tracks')
      .innerJoin('releases', 'releases.id', 'tracks.release_id')
      .select(['tracks.id', 'releases.slug'])
      .executeTakeFirstOrThrow();
    releaseSlug = track.slug;
    await shopper.get(`/release/${track.slug}`);
    await shopper.post('/basket/add', { kind: 'track', id: String(track.id) });
    await shopper.get('/checkout');
    const placed = await shopper.post('/checkout', { method: 'paypal', adult: 'yes' });
    expect(placed.status).toBe(303);
    orderReference = (await store.database.db.selectFrom('orders').select('reference').executeTakeFirstOrThrow()).reference;
  });
  afterAll(async () => store?.close());

  const db = () => store.database.db;
  const auditActions = async (operatorId: number) =>
    (await db().selectFrom('admin_audit').select('action').where('operator_id', '=', operatorId).orderBy('id').execute()).map(
      (r) => r.action,
    );

  /** A browser signed in as a customer through the real code pages. */
  const customerBrowser = async () => {
    const email = `buyer-${Math.random().toString(36).slice(2)}@example.com`;
    const now = toDbTime(new Date());
    await db()
      .insertInto('customers')
      .values({ email, msisdn: null, marketing_opt_in: 0, marketing_choice_at: null, created_at: now, updated_at: now })
      .execute();
    return (await signInCustomer(store, email)).shopper;
  };

  /** A browser signed in as an affiliate through the real code pages. */
  const affiliateBrowser = async () => {
    const email = `partner-${Math.random().toString(36).slice(2)}@affiliates.example`;
    await addAffiliate(db(), { name: 'Partner', email, rateBasisPoints: 2000, flatPence: null }, new Date());
    const browser = await signInAffiliate(store, email);
    expect((await browser.get('/affiliate')).status).toBe(200);
    return browser;
  };

  it.skipIf(skip)(
    'answers 404, with the ordinary not-found page, on every admin route to anonymous, customer and affiliate sessions',
    async () => {
      const routes = adminRoutesOf(store).filter((r) => !PUBLIC_ADMIN_PATHS.includes(r.path));
      // The walk finds the sections: at least orders, an order's detail, its actions, the audit log, sign-out.
      for (const expected of [
        '/admin/orders',
        '/admin/orders/:reference',
        '/admin/orders/:reference/refund',
        '/admin/audit',
        '/admin/sign-out',
      ])
        expect(routes.map((r) => r.path)).toContain(expected);
      const visitors = { anonymous: new Shopper(store.baseUrl), customer: await customerBrowser(), affiliate: await affiliateBrowser() };
      const notFoundPage = await visitors.anonymous.get('/no-such-page');
      for (const [who, browser] of Object.entries(visitors)) {
        for (const route of routes) {
          // A real page first, so POSTs carry this session's valid CSRF token: the guard, not CSRF, refuses them.
          await browser.get(`/release/${releaseSlug}`);
          const path = fillPath(route.path, { reference: orderReference });
          const page = route.method === 'get' ? await browser.get(path) : await browser.post(path, {});
          expect({ who, route: `${route.method} ${path}`, status: page.status }).toEqual({
            who,
            route: `${route.method} ${path}`,
            status: 404,
          });
          expect(page.html.querySelector('h1')?.text).toBe(notFoundPage.html.querySelector('h1')?.text);
        }
      }
      // Nothing was changed by any of those posts.
      expect(
        (await db().selectFrom('orders').select('status').where('reference', '=', orderReference).executeTakeFirstOrThrow()).status,
      ).toBe('pending');
      expect(await db().selectFrom('admin_audit').select('id').where('action', 'like', 'order.%').execute()).toEqual([]);
    },
  );

  it.skipIf(skip)('lets a signed-in operator reach every admin page, uncached', async () => {
    const operator = await signInAsOperator(store);
    for (const route of adminRoutesOf(store).filter((r) => r.method === 'get' && !r.path.startsWith('/admin/sign-in'))) {
      const path = fillPath(route.path, { reference: orderReference });
      const response = await fetch(store.baseUrl + path, { redirect: 'manual', headers: { cookie: `sid=${operator.cookie('sid')}` } });
      // A route with a parameter this test has no real value for may say 404 about that value; none may fail.
      // A label's statement CSV likewise needs a label with sales (?label=N), which this store has none of.
      const known = !/:(?!reference\b)\w+/.test(route.path) && route.path !== '/admin/labels/statements.csv';
      expect({ path, ok: known ? response.status < 400 : response.status < 500 }).toEqual({ path, ok: true });
      expect(response.headers.get('cache-control')).toBe('no-store');
    }
    const signInPage = await fetch(`${store.baseUrl}/admin/sign-in`);
    expect(signInPage.headers.get('cache-control')).toBe('no-store');
  });

  it.skipIf(skip)('refuses every admin action without the session CSRF token, and changes nothing', async () => {
    const operator = await signInAsOperator(store);
    const posts = adminRoutesOf(store).filter((r) => r.method === 'post');
    expect(posts.length).toBeGreaterThanOrEqual(4);
    const auditBefore = await db().selectFrom('admin_audit').select('id').execute();
    for (const route of posts) {
      const path = fillPath(route.path, { reference: orderReference });
      for (const token of ['', 'forged-token']) {
        await operator.get('/admin/orders');
        const page = await operator.post(path, { _csrf: token });
        expect({ path, token, status: page.status }).toEqual({ path, token, status: 403 });
      }
    }
    expect(
      (await db().selectFrom('orders').select('status').where('reference', '=', orderReference).executeTakeFirstOrThrow()).status,
    ).toBe('pending');
    expect(await db().selectFrom('admin_audit').select('id').execute()).toEqual(auditBefore);
    // Still signed in: the refused sign-out did not happen.
    expect((await operator.get('/admin/orders')).status).toBe(200);
  });

  it.skipIf(skip)(
    'signs in with password and emailed code on a fresh session id; the code is single use; sign-out is audited',
    async () => {
      const login = await createOperator(store);
      const browser = new Shopper(store.baseUrl);
      await browser.get('/admin/sign-in');
      const before = browser.cookie('sid');
      expect((await browser.post('/admin/sign-in', { email: login.email.toUpperCase(), password: login.password })).location).toBe(
        '/admin/sign-in/code',
      );
      // The code went to the operator's own email, through the outbox, as a transactional message.
      const queued = await db().selectFrom('outbox').select(['channel', 'kind', 'subject']).where('recipient', '=', login.email).execute();
      expect(queued).toEqual([{ channel: 'email', kind: 'transactional', subject: expect.stringMatching(/admin sign-in code: \d{6}$/) }]);
      // Password alone is not enough.
      expect((await browser.get('/admin/orders')).status).toBe(404);
      await browser.get('/admin/sign-in/code');
      const wrong = await browser.post('/admin/sign-in/code', {
        code: '000000' === (await latestOperatorCode(store, login.email)) ? '111111' : '000000',
      });
      expect(wrong.status).toBe(400);
      const code = await latestOperatorCode(store, login.email);
      expect((await browser.post('/admin/sign-in/code', { code })).location).toBe('/admin');
      expect(browser.cookie('sid')).not.toBe(before);
      expect((await browser.get('/admin/orders')).status).toBe(200);
      // The same code again, in another browser that typed the password: refused.
      const other = new Shopper(store.baseUrl);
      await other.get('/admin/sign-in');
      await other.post('/admin/sign-in', { email: login.email, password: login.password });
      const newest = await latestOperatorCode(store, login.email);
      await other.get('/admin/sign-in/code');
      expect((await other.post('/admin/sign-in/code', { code: code === newest ? '999999' : code })).status).toBe(400);

      const page = await browser.get('/admin/orders');
      expect(page.html.querySelector('.admin-who')?.text).toBe(login.email);
      expect((await browser.post('/admin/sign-out', {})).location).toBe('/admin/sign-in');
      expect((await browser.get('/admin/orders')).status).toBe(404);
      expect(await auditActions(login.id)).toEqual(['operator.wrong_code', 'operator.sign_in', 'operator.wrong_code', 'operator.sign_out']);
    },
  );

  it.skipIf(skip)(
    'answers a wrong password, an unknown email and a locked account alike; locks after repeated failures until unlocked',
    async () => {
      const login = await createOperator(store);
      const attempt = async (email: string, password: string) => {
        const browser = new Shopper(store.baseUrl);
        await browser.get('/admin/sign-in');
        return browser.post('/admin/sign-in', { email, password });
      };
      const unknown = await attempt('nobody@admin.example', 'whatever password');
      const wrong = await attempt(login.email, 'not the password');
      expect(unknown.status).toBe(400);
      expect(wrong.status).toBe(400);
      const message = (page: typeof wrong) => page.html.querySelector('[role="alert"]')?.text;
      expect(message(wrong)).toBe(message(unknown));
      for (let i = 1; i < LOCKOUT_FAILURES; i++) expect((await attempt(login.email, `wrong ${i}`)).status).toBe(400);
      const row = await db().selectFrom('operators').select(['locked_until']).where('id', '=', login.id).executeTakeFirstOrThrow();
      expect(row.locked_until).not.toBeNull();
      // Locked: even the right password is refused, with the same words, and no code is sent.
      const outboxBefore = (await db().selectFrom('outbox').select('id').where('recipient', '=', login.email).execute()).length;
      const locked = await attempt(login.email, login.password);
      expect(locked.status).toBe(400);
      expect(message(locked)).toBe(message(unknown));
      expect((await db().selectFrom('outbox').select('id').where('recipient', '=', login.email).execute()).length).toBe(outboxBefore);
      expect(await auditActions(login.id)).toEqual([...Array(LOCKOUT_FAILURES - 1).fill('operator.wrong_password'), 'operator.locked']);

      // The command an operator runs to lift it.
      const env = storeCliEnv(store);
      const unlocked = await run('node', [STORE_BIN, 'operator', 'unlock', '--email', login.email], { env });
      expect(unlocked.stdout).toContain('unlocked');
      expect((await signInWith(store, login)).cookie('sid')).toBeDefined();
    },
  );

  it.skipIf(skip)('signs an operator out after the shorter idle time', async () => {
    const operator = await signInAsOperator(store);
    expect((await operator.get('/admin/orders')).status).toBe(200);
    offsetMs += (ADMIN_IDLE_MINUTES + 1) * 60_000;
    try {
      const page = await operator.get('/admin/orders');
      expect(page.status).toBe(303);
      expect(page.location).toBe('/admin/sign-in');
      expect((await operator.get('/admin/orders')).status).toBe(404);
    } finally {
      offsetMs = 0;
    }
  });

  it.skipIf(skip)(
    'sends a code every time an operator signs in again, however often: only unused codes count towards the allowance',
    async () => {
      const login = await createOperator(store);
      // More sign-ins in a row than the three codes per fifteen minutes an unused-code allowance gives.
      for (let i = 0; i < 5; i++) {
        const browser = await signInWith(store, login);
        expect((await browser.get('/admin/orders')).status).toBe(200);
        await browser.post('/admin/sign-out', {});
      }
      const codes = await db().selectFrom('outbox').select('id').where('recipient', '=', login.email).execute();
      expect(codes).toHaveLength(5);
    },
  );

  it.skipIf(skip)('adds, lists and unlocks operators from the command line; passwords are stored only as scrypt hashes', async () => {
    const env = storeCliEnv(store);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'operator-'));
    const file = path.join(dir, 'password');
    fs.writeFileSync(file, 'a long enough password\n');
    try {
      const added = await run('node', [STORE_BIN, 'operator', 'add', '--email', 'Night.Shift@Admin.Example', '--password-file', file], {
        env,
      });
      expect(added.stdout).toContain('night.shift@admin.example');
      expect(added.stdout).not.toContain('a long enough password');
      const row = await db()
        .selectFrom('operators')
        .select(['id', 'password_hash'])
        .where('email', '=', 'night.shift@admin.example')
        .executeTakeFirstOrThrow();
      expect(row.password_hash).toMatch(/^scrypt\$131072\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
      await signInWith(store, { id: row.id, email: 'night.shift@admin.example', password: 'a long enough password' });

      // No file and no terminal: a password is generated and shown once.
      const generated = await run('node', [STORE_BIN, 'operator', 'add', '--email', 'day.shift@admin.example'], { env });
      const password = generated.stdout.match(/Password \(shown only now\): (\S+)/)?.[1];
      expect(password).toHaveLength(20);
      const day = await db().selectFrom('operators').select('id').where('email', '=', 'day.shift@admin.example').executeTakeFirstOrThrow();
      await signInWith(store, { id: day.id, email: 'day.shift@admin.example', password: password! });

      const duplicate = await run('node', [STORE_BIN, 'operator', 'add', '--email', 'day.shift@admin.example'], { env }).catch(
        (e: { stderr: string; code: number }) => e,
      );
      expect(duplicate).toMatchObject({ code: 1, stderr: expect.stringContaining('already exists') });
      fs.writeFileSync(file, 'short\n');
      const weak = await run('node', [STORE_BIN, 'operator', 'add', '--email', 'weak@admin.example', '--password-file', file], {
        env,
      }).catch((e: { stderr: string; code: number }) => e);
      expect(weak).toMatchObject({ code: 1, stderr: expect.stringContaining('at least 12 characters') });

      const list = await run('node', [STORE_BIN, 'operator', 'list'], { env });
      expect(list.stdout).toMatch(/night\.shift@admin\.example\tactive\tnot locked/);
      expect(list.stdout).not.toContain('scrypt');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.each(databaseKinds())('admin sign-in rate limit on $kind', ({ kind, skip }) => {
  let store: TestStore;
  beforeAll(async () => {
    if (skip) return;
    store = await startTestStore(kind, { stock: false, env: { SIGN_IN_LIMIT_PER_CLIENT: '3' } });
  });
  afterAll(async () => store?.close());

  it.skipIf(skip)('slows a client guessing passwords across many emails, which the per-operator lockout alone would not', async () => {
    const login = await createOperator(store);
    const browser = new Shopper(store.baseUrl);
    await browser.get('/admin/sign-in');
    const statuses = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await browser.post('/admin/sign-in', { email: `guess${i}@admin.example`, password: 'guessing again' })).status);
    expect(statuses).toEqual([400, 400, 400, 429]);
    // Even the right password waits out the window from this client.
    const right = await browser.post('/admin/sign-in', { email: login.email, password: login.password });
    expect(right.status).toBe(429);
    expect(right.text).toContain('Too many tries from here');
  });
});
