import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unsubscribeToken } from '../../src/privacy/marketing.js';
import { databaseKinds } from '../helpers/databases.js';
import { Shopper } from '../helpers/shopper.js';
import { signInCustomer } from '../helpers/sign-in.js';
import { buyWithPayPal } from '../helpers/purchase.js';
import { startTestStore, type TestStore } from '../helpers/store.js';
import { STORE_BIN, storeCliEnv } from '../helpers/cli.js';

const run = promisify(execFile);

describe.each(databaseKinds())('marketing choice, unsubscribe and service notices on $kind', ({ kind, skip }) => {
  let store: TestStore;
  let release: { id: number; slug: string };
  const ids: Record<string, number> = {};
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'marketing-'));

  const db = () => store.database.db;
  const cli = (...args: string[]) =>
    run('node', [STORE_BIN, ...args], {
      env: storeCliEnv(store, { PUBLIC_URL: store.baseUrl, SESSION_SECRET: 'test-session-secret-that-is-long-enough-0123456789' }),
    });
  const customer = (email: string) => db().selectFrom('customers').selectAll().where('email', '=', email).executeTakeFirstOrThrow();
  const outboxFor = (recipient: string) => db().selectFrom('outbox').selectAll().where('recipient', '=', recipient).orderBy('id').execute();

  const buy = async (email: string, marketing: boolean) => {
    await buyWithPayPal(store, email, { release, marketing });
    return (await customer(email)).id;
  };

  beforeAll(async () => {
    if (skip) return;
    store = await startTestStore(kind, { messaging: true, env: { SIGN_IN_LIMIT_PER_CLIENT: '1000' } });
    release = await db().selectFrom('releases').select(['id', 'slug']).orderBy('id').executeTakeFirstOrThrow();
    ids.fan = await buy('fan@example.com', true);
    ids.quiet = await buy('quiet@example.com', false);
  });
  afterAll(async () => store?.close());

  it.skipIf(skip)('records the checkout choice, and a marketing send reaches only opted-in customers, with RFC 8058 headers', async () => {
    expect(await customer('fan@example.com')).toMatchObject({ marketing_opt_in: 1 });
    expect((await customer('fan@example.com')).marketing_choice_at).not.toBeNull();
    expect(await customer('quiet@example.com')).toMatchObject({ marketing_opt_in: 0 });
    const body = path.join(tmp, 'news.txt');
    fs.writeFileSync(body, 'New releases this week.\n');
    const { stdout } = await cli('marketing', 'send', '--subject', 'New this week', '--body-file', body);
    expect(stdout).toContain('Queued 1 marketing message');
    expect((await outboxFor('quiet@example.com')).filter((m) => m.kind === 'marketing')).toHaveLength(0);
    const [row] = (await outboxFor('fan@example.com')).filter((m) => m.kind === 'marketing');
    const link = `${store.baseUrl}/unsubscribe/${unsubscribeToken(store.config.sessionSecret, ids.fan!)}`;
    expect(JSON.parse(row!.headers!)).toEqual({ 'List-Unsubscribe': `<${link}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' });
    expect(row!.body_text).toContain(link);

    await expect.poll(() => store.smtp!.received.find((m) => m.parsed.subject === 'New this week'), { timeout: 10_000 }).toBeDefined();
    const mail = store.smtp!.received.find((m) => m.parsed.subject === 'New this week')!;
    expect(mail.envelopeTo).toEqual(['fan@example.com']);
    // Long header lines arrive folded; unfold before comparing.
    const header = (key: string) => mail.parsed.headerLines.find((h) => h.key === key)?.line.replace(/\r?\n[ \t]+/g, ' ');
    expect(header('list-unsubscribe')).toMatch(new RegExp(`^List-Unsubscribe: ?<${link.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}>$`));
    expect(header('list-unsubscribe-post')).toBe('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
  });

  it.skipIf(skip)('does nothing for a tampered unsubscribe link', async () => {
    const good = unsubscribeToken(store.config.sessionSecret, ids.fan!);
    const tampered = [good.slice(0, -1) + (good.endsWith('A') ? 'B' : 'A'), `${ids.quiet}.${good.split('.')[1]}`, `${ids.fan}`, 'x'];
    for (const token of tampered) {
      const post = await fetch(`${store.baseUrl}/unsubscribe/${token}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      });
      expect(post.status).toBe(400);
      expect((await fetch(`${store.baseUrl}/unsubscribe/${token}`)).status).toBe(404);
    }
    expect(await customer('fan@example.com')).toMatchObject({ marketing_opt_in: 1 });
  });

  it.skipIf(skip)('unsubscribes with one click, without sign-in or CSRF token, once and idempotently', async () => {
    const url = `${store.baseUrl}/unsubscribe/${unsubscribeToken(store.config.sessionSecret, ids.fan!)}`;
    const page = await new Shopper(store.baseUrl).get(url.slice(store.baseUrl.length));
    expect(page.status).toBe(200);
    expect(page.html.querySelector('.unsubscribe')!.getAttribute('data-state')).toBe('confirm');
    expect(page.html.querySelector('.unsubscribe form button')).not.toBeNull();

    const first = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(first.status).toBe(200);
    const after = await customer('fan@example.com');
    expect(after.marketing_opt_in).toBe(0);
    const second = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(second.status).toBe(200);
    expect(await customer('fan@example.com')).toEqual(after);
    expect(
      (await new Shopper(store.baseUrl).get(url.slice(store.baseUrl.length))).html
        .querySelector('.unsubscribe')!
        .getAttribute('data-state'),
    ).toBe('already');

    const body = path.join(tmp, 'again.txt');
    fs.writeFileSync(body, 'More news.\n');
    expect((await cli('marketing', 'send', '--subject', 'Again', '--body-file', body)).stdout).toContain('Queued 0 marketing messages');
  });

  it.skipIf(skip)('lets a signed-in customer change the choice on the preferences page, stored with its time', async () => {
    const shopper = new Shopper(store.baseUrl);
    expect((await shopper.get('/account/preferences')).location).toBe('/account');
    await signInCustomer(store, 'quiet@example.com', shopper);
    const form = await shopper.get('/account/preferences');
    expect(form.html.querySelector('input[name="marketing"]')!.hasAttribute('checked')).toBe(false);
    const before = (await customer('quiet@example.com')).marketing_choice_at;
    expect((await shopper.post('/account/preferences', { marketing: 'yes' })).location).toBe('/account/preferences');
    const opted = await customer('quiet@example.com');
    expect(opted.marketing_opt_in).toBe(1);
    expect(opted.marketing_choice_at).not.toBe(before);
    expect((await shopper.get('/account/preferences')).html.querySelector('input[name="marketing"]')!.hasAttribute('checked')).toBe(true);
    await shopper.post('/account/preferences', {});
    expect((await customer('quiet@example.com')).marketing_opt_in).toBe(0);
    const forged = await fetch(`${store.baseUrl}/account/preferences`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `sid=${shopper.cookie('sid')}` },
      body: 'marketing=yes',
    });
    expect(forged.status).toBe(403);
    expect((await customer('quiet@example.com')).marketing_opt_in).toBe(0);
  });

  it.skipIf(skip)('sends a service notice to opted-out customers with orders in the window, and logs who and why', async () => {
    expect((await customer('fan@example.com')).marketing_opt_in).toBe(0);
    const message = path.join(tmp, 'notice.txt');
    fs.writeFileSync(message, 'Some downloads failed yesterday; please download again.\n');
    const today = new Date().toISOString().slice(0, 10);
    const { stdout } = await cli(
      'notice',
      'send',
      '--orders-between',
      today,
      today,
      '--message-file',
      message,
      '--reason',
      'download outage INC-7',
      '--by',
      'Ops Olga',
    );
    expect(stdout).toMatch(/queued for 2 customers/);
    for (const email of ['fan@example.com', 'quiet@example.com']) {
      const notices = (await outboxFor(email)).filter((m) => m.kind === 'service');
      expect(notices).toHaveLength(1);
      expect(notices[0]!.body_text).toContain('Some downloads failed');
    }
    const log = await db().selectFrom('service_notices').selectAll().execute();
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ sent_by: 'Ops Olga', reason: 'download outage INC-7', recipients: 2 });
    await expect
      .poll(
        () =>
          store
            .smtp!.received.filter((m) => m.parsed.subject === 'About your order')
            .map((m) => m.envelopeTo[0])
            .sort(),
        { timeout: 10_000 },
      )
      .toEqual(['fan@example.com', 'quiet@example.com']);

    const outside = await cli(
      'notice',
      'send',
      '--orders-between',
      '2001-01-01',
      '2001-01-02',
      '--message-file',
      message,
      '--reason',
      'test',
      '--by',
      'Ops Olga',
    );
    expect(outside.stdout).toMatch(/queued for 0 customers/);
  });
});
