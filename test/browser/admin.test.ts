import { describe, expect, it } from 'vitest';
import { createOperator } from '../helpers/admin.js';
import { browserJourney } from '../helpers/browser.js';
import { databaseKinds } from '../helpers/databases.js';
import { buyWithPayPal } from '../helpers/purchase.js';
import { startTestStore } from '../helpers/store.js';

describe.each(databaseKinds())('an operator refunds an order in Chromium on $kind', ({ kind, skip }) => {
  let reference: string;
  const journey = browserJourney(
    async () => {
      const store = await startTestStore(kind, { messaging: true });
      // A paid PayPal order, bought over HTTP (the purchase journey has browser tests of its own).
      await buyWithPayPal(store, 'fan@example.com');
      reference = (await store.database.db.selectFrom('orders').select('reference').where('status', '=', 'paid').executeTakeFirstOrThrow())
        .reference;
      return store;
    },
    { skip },
  );

  /** The newest email the SMTP server received for `to`, once it arrives. */
  const mailTo = async (to: string, after: number) => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const mail = journey.app.smtp!.received.slice(after).find((m) => m.envelopeTo.includes(to));
      if (mail) return mail;
      if (Date.now() > deadline) throw new Error(`no email reached ${to}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it.skipIf(journey.skipped)('signs in with password and emailed code, finds the order by reference and refunds it', async () => {
    const login = await createOperator(journey.app);
    const context = await journey.browser.newContext();
    const { page, errors } = await journey.newPage(context);

    await page.goto(`${journey.app.baseUrl}/admin/sign-in`);
    await page.fill('input[name="email"]', login.email);
    await page.fill('input[name="password"]', login.password);
    const mailsBefore = journey.app.smtp!.received.length;
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
    const after = await page.goto(`${journey.app.baseUrl}/admin/orders/${reference}`);
    expect(after!.status()).toBe(404);
    await context.close();
  });
});
