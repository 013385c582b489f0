import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { createOperator } from '../helpers/admin.js';
import { launchBrowser, watchForErrors } from '../helpers/browser.js';
import { databaseKinds } from '../helpers/databases.js';
import { Shopper } from '../helpers/shopper.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

const chromiumPath = inject('chromiumPath');

describe.each(databaseKinds())('an operator refunds an order in Chromium on $kind', ({ kind, skip }) => {
  const skipped = skip || !chromiumPath;
  let store: TestStore;
  let browser: Browser;
  let reference: string;

  beforeAll(async () => {
    if (skipped) return;
    store = await startTestStore(kind, { messaging: true });
    browser = await launchBrowser(chromiumPath!);
    // A paid PayPal order, bought over HTTP (the purchase journey has browser tests of its own).
    const shopper = new Shopper(store.baseUrl);
    const release = await store.database.db.selectFrom('releases').select(['id', 'slug']).executeTakeFirstOrThrow();
    await shopper.get(`/release/${release.slug}`);
    await shopper.post('/basket/add', { kind: 'release', id: String(release.id) });
    await shopper.get('/checkout');
    const placed = await shopper.post('/checkout', { method: 'paypal', adult: 'yes' });
    const token = new URL(placed.location!).searchParams.get('token')!;
    await shopper.follow(await shopper.get(store.paypal.control.approve(token, { email: 'fan@example.com' }).redirectUrl!));
    reference = (await store.database.db.selectFrom('orders').select('reference').where('status', '=', 'paid').executeTakeFirstOrThrow()).reference;
  });
  afterAll(async () => {
    await browser?.close();
    await store?.close();
  });

  /** The newest email the SMTP server received for `to`, once it arrives. */
  const mailTo = async (to: string, after: number) => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const mail = store.smtp!.received.slice(after).find((m) => m.envelopeTo.includes(to));
      if (mail) return mail;
      if (Date.now() > deadline) throw new Error(`no email reached ${to}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it.skipIf(skipped)('signs in with password and emailed code, finds the order by reference and refunds it', async () => {
    const login = await createOperator(store);
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = watchForErrors(page);

    await page.goto(`${store.baseUrl}/admin/sign-in`);
    await page.fill('input[name="email"]', login.email);
    await page.fill('input[name="password"]', login.password);
    const mailsBefore = store.smtp!.received.length;
    await page.locator('form.admin-form button[type="submit"]').click();
    await page.waitForURL(/\/admin\/sign-in\/code$/);
    const mail = await mailTo(login.email, mailsBefore);
    const code = mail.parsed.text!.match(/\b(\d{6})\b/)![1]!;
    await page.fill('input[name="code"]', code);
    await page.locator('form.admin-form button[type="submit"]').click();
    await page.waitForURL((url) => url.pathname.startsWith('/admin') && !url.pathname.startsWith('/admin/sign-in'));

    await page.locator('.admin-nav a', { hasText: 'Orders' }).click();
    await page.waitForURL(/\/admin\/orders$/);
    await page.fill('input[name="reference"]', reference.slice(0, 9).toLowerCase());
    await page.locator('#order-filters button[type="submit"]').click();
    await page.waitForURL(/reference=/);
    await page.locator('#orders a', { hasText: reference }).click();
    await page.waitForURL(new RegExp(`/admin/orders/${reference}$`));
    expect(await page.locator('#order-status').textContent()).toBe('paid');

    // The refund asks for a tick first: without it the browser does not send the form.
    await page.locator('#refund').click();
    expect(page.url()).toMatch(new RegExp(`/admin/orders/${reference}$`));
    expect(await page.locator('#refund-confirm').evaluate((box: HTMLInputElement) => box.validity.valueMissing)).toBe(true);
    expect(await page.locator('.admin-flash').count()).toBe(0);
    expect(await page.locator('#order-status').textContent()).toBe('paid');
    await page.locator('#refund-confirm').check();
    await page.locator('#refund').click();
    await page.waitForSelector('.admin-flash--info');
    expect(await page.locator('.admin-flash--info').textContent()).toContain(`Order ${reference} is refunded`);
    expect(await page.locator('#order-status').textContent()).toBe('refunded');
    expect(await page.locator('#refund').count()).toBe(0);
    expect(await page.locator('#events').textContent()).toContain('refunded');

    await page.locator('.admin-nav a', { hasText: 'Audit log' }).click();
    expect(await page.locator('#audit').textContent()).toContain(reference);
    // The refund's row links to the order.
    expect(await page.locator('#audit a', { hasText: reference }).first().getAttribute('href')).toBe(`/admin/orders/${reference}`);

    // Every section through the nav: its page title, its link marked current, and nothing the browser complains about (CSP included).
    for (const label of ['Dashboard', 'Orders', 'Customers', 'Catalogue', 'Affiliates', 'Messages', 'Audit log']) {
      await page.locator('.admin-nav a', { hasText: label }).click();
      await page.waitForLoadState();
      expect(await page.title()).toMatch(new RegExp(`^${label} · Admin · `));
      expect(await page.locator('.admin-nav a[aria-current="page"]').textContent()).toBe(label);
    }
    expect(errors).toEqual([]);

    await page.locator('.admin-sign-out button').click();
    await page.waitForURL(/\/admin\/sign-in$/);
    const after = await page.goto(`${store.baseUrl}/admin/orders/${reference}`);
    expect(after!.status()).toBe(404);
    await context.close();
  });
});
