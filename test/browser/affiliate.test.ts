import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { addAffiliate, commissionPence } from '../../src/affiliates/repository.js';
import { formatPrice } from '../../src/web/view-helpers.js';
import { databaseKinds } from '../helpers/databases.js';
import { launchBrowser, watchForErrors } from '../helpers/browser.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

const chromiumPath = inject('chromiumPath');

describe.each(databaseKinds())('an affiliate referral in Chromium on $kind', ({ kind, skip }) => {
  const skipped = skip || !chromiumPath;
  let store: TestStore;
  let browser: Browser;
  let affiliateId: number;

  beforeAll(async () => {
    if (skipped) return;
    store = await startTestStore(kind);
    browser = await launchBrowser(chromiumPath!);
    affiliateId = await addAffiliate(store.database.db, { name: 'Chromium Blog', email: 'blog@affiliates.example', rateBasisPoints: 2000, flatPence: null }, new Date());
  });
  afterAll(async () => {
    await browser?.close();
    await store?.close();
  });

  it.skipIf(skipped)('follows a referral link, buys with PayPal, and the affiliate sees the order and its pending commission', async () => {
    const shopperContext = await browser.newContext();
    const page = await shopperContext.newPage();
    const errors = watchForErrors(page);
    await page.goto(`${store.baseUrl}/?a=${affiliateId}`);
    expect(page.url()).toBe(`${store.baseUrl}/`);
    const cookie = (await shopperContext.cookies()).find((c) => c.name === 'a')!;
    expect(cookie).toMatchObject({ value: String(affiliateId), httpOnly: true, sameSite: 'Lax' });

    await page.locator('#new-releases + .grid .card__title').nth(0).click();
    await page.locator('.release__buy button').click();
    await page.waitForSelector('.flash');
    await page.locator('.site-nav a', { hasText: 'Basket' }).click();
    await page.locator('a', { hasText: 'Go to checkout' }).click();
    await page.waitForURL(/\/checkout$/);
    await page.locator('input[name="adult"]').check();
    await page.locator('button[value="paypal"]').click();
    await page.waitForURL((url) => url.toString().startsWith(store.paypal.url));
    await page.fill('input[name="email"]', 'referred.buyer@example.com');
    await page.locator('button.approve').click();
    await page.waitForURL(/\/orders\/NL-/);
    expect(await page.locator('h1').textContent()).toContain('your order is paid');
    const reference = page.url().split('/orders/')[1]!;
    const order = await store.database.db.selectFrom('orders').selectAll().where('reference', '=', reference).executeTakeFirstOrThrow();
    expect(order.affiliate_id).toBe(affiliateId);
    expect(errors).toEqual([]);
    await shopperContext.close();

    const affiliatePage = await (await browser.newContext()).newPage();
    const affiliateErrors = watchForErrors(affiliatePage);
    await affiliatePage.goto(`${store.baseUrl}/affiliate`);
    await affiliatePage.waitForURL(/\/affiliate\/sign-in$/);
    await affiliatePage.fill('input[name="email"]', 'blog@affiliates.example');
    await affiliatePage.locator('button', { hasText: 'Send me a code' }).click();
    await affiliatePage.waitForURL(/\/affiliate\/code$/);
    const message = await store.database.db.selectFrom('outbox').select('body_text').where('recipient', '=', 'blog@affiliates.example').orderBy('id', 'desc').executeTakeFirstOrThrow();
    await affiliatePage.fill('input[name="code"]', /\b(\d{6})\b/.exec(message.body_text)![1]!);
    await affiliatePage.locator('button', { hasText: 'Sign in' }).click();
    await affiliatePage.waitForURL(/\/affiliate$/);

    const row = affiliatePage.locator(`tr[data-month="${new Date().toISOString().slice(0, 7)}"]`);
    expect(await row.locator('.visits').textContent()).toBe('1');
    expect(await row.locator('.orders').textContent()).toBe('1');
    expect(await row.locator('.conversion').textContent()).toBe('100%');
    expect(await row.locator('.pending').textContent()).toBe(formatPrice(commissionPence(order.total_pence, { rate_basis_points: 2000, flat_pence: null })));
    expect(await affiliatePage.locator('svg.affiliate-chart rect').count()).toBe(2);
    expect(await affiliatePage.textContent('body')).not.toContain('referred.buyer@example.com');
    expect(affiliateErrors).toEqual([]);
  });
});
