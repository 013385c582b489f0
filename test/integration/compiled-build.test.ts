import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../migrations/index.js';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { startFleet, type Fleet } from '../helpers/fleet.js';
import { waitFor } from '../helpers/payforit.js';
import { serverEnv, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { Shopper } from '../helpers/shopper.js';
import { freePort } from '../helpers/smtp.js';

const run = promisify(execFile);

/** What production refuses to start without, beyond the fleet's PayPal, SMTP and SMS accounts. */
const PRODUCTION_SETTINGS = {
  NODE_ENV: 'production',
  PAYFORIT_API_BASE: 'http://127.0.0.1:9',
  PAYFORIT_MERCHANT_ID: 'compiled',
  PAYFORIT_SECRET: 'compiled-'.padEnd(40, 'x'),
  COMPANY_NAME: 'Compiled Music Ltd',
  INFO_OFFICER_NAME: 'Cora Officer',
  CONTACT_EMAIL: 'privacy@compiled.example',
};

/**
 * The production build as an operator runs it: `npm run build`, then `node dist/src/server.js` and
 * `node dist/src/cli/main.js`, with no TypeScript loader anywhere. Views, static files, the
 * migrations and the stand-ins' API documents must all be found from dist/.
 */
beforeAll(async () => {
  // Incremental (dist/.tsbuildinfo): quick when .ci/run has just built.
  await run('npm', ['run', 'build'], { timeout: 300_000 });
}, 300_000);

describe.each(databaseKinds())('the compiled store on $kind', ({ kind, skip }) => {
  let database: TestDatabase;
  let fleet: Fleet;
  let migrateOutput: string;
  let release: { id: number; title: string; slug: string };

  beforeAll(async () => {
    if (skip) return;
    database = await createTestDatabase(kind, { migrated: false });
    const { stdout } = await run(process.execPath, ['dist/src/cli/main.js', 'migrate'], { env: serverEnv({ DATABASE_URL: database.url }) });
    migrateOutput = stdout;
    fleet = await startFleet({ database, processes: 1, compiled: true, env: PRODUCTION_SETTINGS });
    release = await database.db.selectFrom('releases').select(['id', 'title', 'slug']).orderBy('id').executeTakeFirstOrThrow();
  }, 180_000);
  afterAll(async () => {
    await fleet?.close();
    await database?.drop();
  });

  it.skipIf(skip)('the compiled CLI migrates an empty database; bin/store.js in production runs it too', async () => {
    expect(migrateOutput.trim()).toBe(`Applied: ${Object.keys(migrations).join(', ')}`);
    const productionCli = await run(process.execPath, ['bin/store.js', 'migrate'], {
      env: { ...fleet.env, ...PRODUCTION_SETTINGS, PUBLIC_URL: 'https://music.example' },
    });
    expect(productionCli.stdout.trim()).toBe('The database schema is already up to date.');
  });

  it.skipIf(skip)(
    'the compiled server in production sells a release: pages, static files, cover art, PayPal, confirmation email',
    async () => {
      const server = await fleet.start(0, { PUBLIC_URL: `http://127.0.0.1:${fleet.ports[0]}`, LOG_LEVEL: 'info' });
      const shopper = new Shopper(server.url);
      const releasePage = await shopper.get(`/release/${release.slug}`);
      expect(releasePage.status).toBe(200);
      expect(releasePage.html.querySelector('h1')!.text).toContain(release.title);
      const stylesheet = releasePage.html.querySelector('link[rel="stylesheet"]')!.getAttribute('href')!;
      const css = await fetch(`${server.url}${stylesheet}`);
      expect(css.status).toBe(200);
      expect(css.headers.get('content-type')).toContain('text/css');

      expect((await shopper.post('/basket/add', { kind: 'release', id: String(release.id) })).status).toBe(303);
      await shopper.get('/checkout');
      const started = await shopper.post('/checkout', { method: 'paypal', adult: 'yes' });
      expect(started.status).toBe(303);
      const paypalOrderId = new URL(started.location!).searchParams.get('token')!;
      const email = `compiled-${kind}@example.com`;
      const { redirectUrl } = fleet.paypal.control.approve(paypalOrderId, { email });
      const orderPage = await shopper.follow(await shopper.get(redirectUrl!));
      expect(orderPage.html.querySelector('h1')!.text).toContain('your order is paid');
      await waitFor('the confirmation email', () => fleet.smtp.received.some((m) => m.envelopeTo.includes(email)), 15_000);

      // The media folder, read through the store's routes (cover art here; downloads need a signed-in customer).
      const cover = await fetch(`${server.url}${releasePage.html.querySelector('img')!.getAttribute('src')!}`);
      expect(cover.status).toBe(200);
      expect(cover.headers.get('content-type')).toMatch(/^image\//);

      expect(server.output()).not.toContain('Production from TypeScript source');
      // Production's log is written in batches: a quiet store's lines still come out within a second or so,
      // and a stop writes the lines still gathered (the last request, made just before it).
      await waitFor('the release page request in the log', () => server.output().includes(`"path":"/release/${release.slug}"`), 5000);
      expect((await fetch(`${server.url}/contact`)).status).toBe(200);
      expect(await server.stop()).toBe(0);
      expect(server.output()).toContain('"path":"/contact","status":200');
      expect(server.output()).not.toMatch(/\n\s+at /);
    },
  );

  it.skipIf(skip)('the compiled demo serves its stand-ins, which read their API documents from the package root', async () => {
    // No provider settings: the PayPal and SMS stand-ins are mounted beside the store, email goes to a folder.
    const providerSettings = /^(PAYPAL_|TWILIO_|SMS_FROM|SMTP_URL|MAIL_FROM)/;
    const env = {
      ...Object.fromEntries(Object.entries(fleet.env).filter(([name]) => !providerSettings.test(name))),
      NODE_ENV: 'development',
    };
    const demo: ServerProcess = await startServerProcess(env, await freePort(), { compiled: true });
    try {
      const shopper = new Shopper(demo.url);
      await shopper.get(`/release/${release.slug}`);
      await shopper.post('/basket/add', { kind: 'release', id: String(release.id) });
      await shopper.get('/checkout');
      const started = await shopper.post('/checkout', { method: 'paypal', adult: 'yes' });
      expect(started.status).toBe(303);
      const approval = new URL(started.location!);
      expect(approval.pathname).toBe('/sandbox/paypal/checkoutnow');
      expect((await shopper.get(started.location!)).status).toBe(200);
      const email = `demo-${kind}@example.com`;
      const approved = await shopper.post('/sandbox/paypal/checkoutnow/approve', {
        token: approval.searchParams.get('token')!,
        email,
        choice: 'approve',
      });
      expect(approved.status).toBe(303);
      const orderPage = await shopper.follow(await shopper.get(approved.location!));
      expect(orderPage.html.querySelector('h1')!.text).toContain('your order is paid');
      // The confirmation lands in the mail folder and shows on the test-mode messages page (views/sandbox/).
      const messages = await waitFor(
        'the confirmation on the messages page',
        async () => {
          const page = await shopper.get('/sandbox/messages');
          return page.text.includes(email) && page;
        },
        15_000,
      );
      expect(messages.status).toBe(200);
      expect(fs.readdirSync(path.join(fleet.dataDir, 'mail')).some((name) => name.endsWith('.eml'))).toBe(true);
    } finally {
      await demo.stop();
    }
    expect(demo.output()).not.toMatch(/\n\s+at /);
  });
});
