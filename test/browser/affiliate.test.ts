import { describe, expect, it } from 'vitest';
import { addAffiliate, commissionPence } from '../../src/affiliates/repository.js';
import { formatPrice } from '../../src/web/view-helpers.js';
import { databaseKinds } from '../helpers/databases.js';
import { browserJourney } from '../helpers/browser.js';
import { startTestStore } from '../helpers/store.js';

describe.each(databaseKinds())('an affiliate referral in Chromium on $kind', ({ kind, skip }) => {
  let affiliateId: number;
  const journey = browserJourney(async () => {
    const store = await startTestStore(kind);
    affiliateId = await addAffiliate(store.database.db, { name: 'Chromium Blog', email: 'blog@affiliates.example', rateBasisPoints: 2000, flatPence: null }, new Date());
    return store;
  }, { skip });

  it.skipIf(journey.skipped)('follows a referral link, buys with PayPal, and the affiliate sees the order and its pending commission', async () => {
    const shopperContext = await journey.browser.newContext();
    const { page, errors } = await journey.newPage(shopperContext);
    await page.goto(`${journey.app.baseUrl}/?a=${affiliateId}`);
    expect(page.url()).toBe(`${journey.app.baseUrl}/`);
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
    await page.waitForURL((url) => url.toString().startsWith(journey.app.paypal.url));
    await page.fill('input[name="email"]', 'referred.buyer@example.com');
    await page.locator('button.approve').click();
    await page.waitForURL(/\/orders\/NL-/);
    expect(await page.locator('h1').textContent()).toContain('your order is paid');
    const reference = page.url().split('/orders/')[1]!;
    const order = await journey.app.database.db.selectFrom('orders').selectAll().where('reference', '=', reference).executeTakeFirstOrThrow();
    expect(order.affiliate_id).toBe(affiliateId);
    expect(errors).toEqual([]);
    await shopperContext.close();

    const { page: affiliatePage, errors: affiliateErrors } = await journey.newPage((await journey.browser.newContext()));
    await affiliatePage.goto(`${journey.app.baseUrl}/affiliate`);
    await affiliatePage.waitForURL(/\/affiliate\/sign-in$/);
    await affiliatePage.fill('input[name="email"]', 'blog@affiliates.example');
    await affiliatePage.locator('button', { hasText: 'Send me a code' }).click();
    await affiliatePage.waitForURL(/\/affiliate\/code$/);
    const message = await journey.app.database.db.selectFrom('outbox').select('body_text').where('recipient', '=', 'blog@affiliates.example').orderBy('id', 'desc').executeTakeFirstOrThrow();
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
