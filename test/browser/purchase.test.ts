import { describe, expect, it } from 'vitest';
import { databaseKinds } from '../helpers/databases.js';
import { browserJourney } from '../helpers/browser.js';
import { startTestStore } from '../helpers/store.js';

describe.each(databaseKinds())('a purchase with PayPal in Chromium on $kind', ({ kind, skip }) => {
  const journey = browserJourney(() => startTestStore(kind), { skip });

  it.skipIf(journey.skipped)('adds a track and a release, checks out, approves at PayPal and lands on a paid order', async () => {
    const { page, errors } = await journey.newPage();

    await page.goto(journey.app.baseUrl);
    await page.locator('#new-releases + .grid .card__title').nth(0).click();
    const releaseTitle = (await page.locator('h1').textContent())!;
    await page.locator('.release__buy button').click();
    await page.waitForSelector('.flash');
    expect(await page.locator('.flash').textContent()).toContain(releaseTitle);

    await page.goto(journey.app.baseUrl);
    await page.locator('#new-releases + .grid .card__title').nth(1).click();
    const trackTitle = (await page.locator('table.tracks tbody tr .tracks__title').first().textContent())!;
    await page.locator('table.tracks tbody tr').first().locator('button.add-button').click();
    await page.waitForSelector('.flash');
    expect(await page.locator('.site-nav .badge').textContent()).toBe('2');

    await page.locator('.site-nav a', { hasText: 'Basket' }).click();
    expect(await page.locator('table.basket tbody tr').count()).toBe(2);
    await page.locator('a', { hasText: 'Go to checkout' }).click();
    await page.waitForURL(/\/checkout$/);
    // The browser itself refuses to submit without the 18+ tick (and the server checks again).
    await page.locator('button[value="paypal"]').click();
    expect(page.url()).toMatch(/\/checkout$/);
    await page.locator('input[name="adult"]').check();
    await page.locator('button[value="paypal"]').click();

    await page.waitForURL((url) => url.toString().startsWith(journey.app.paypal.url));
    expect(await page.textContent('body')).toContain(trackTitle);
    await page.fill('input[name="email"]', 'chromium.buyer@example.com');
    await page.locator('button.approve').click();

    await page.waitForURL(/\/orders\/NL-/);
    expect(await page.locator('h1').textContent()).toContain('your order is paid');
    expect(await page.textContent('body')).toContain('chromium.buyer@example.com');
    expect(await page.locator('.site-nav .badge').count()).toBe(0);

    const reference = page.url().split('/orders/')[1]!;
    const db = journey.app.database.db;
    const order = await db.selectFrom('order_overview').selectAll().where('reference', '=', reference).executeTakeFirstOrThrow();
    expect(order).toMatchObject({ status: 'paid', payment_method: 'paypal', contact: 'chromium.buyer@example.com', item_count: 2 });
    expect(String(order.item_titles)).toContain(trackTitle);
    expect(errors).toEqual([]);
  });
});
