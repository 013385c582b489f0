import { describe, expect, it } from 'vitest';
import { databaseKinds } from '../helpers/databases.js';
import { browserJourney, downloadByClicking, isMp3 } from '../helpers/browser.js';
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

    // The music at once, in this browser, without a code: the thank-you page's download button.
    const track = await downloadByClicking(
      page,
      page.locator('.order-music a[href^="/download/track/"]').filter({ hasText: trackTitle }).first(),
    );
    expect(track.name).toMatch(/\.mp3$/);
    expect(track.name).toContain(trackTitle);
    expect(isMp3(track.bytes)).toBe(true);
    // And from "Your music", which shows this order's music without signing in.
    await page.locator('a', { hasText: 'Go to your music' }).click();
    await page.waitForURL(/\/account\/music$/);
    expect(await page.locator('h1').textContent()).toBe('Your music');
    const again = await downloadByClicking(page, page.locator('a[href^="/download/track/"]').filter({ hasText: trackTitle }).first());
    expect(isMp3(again.bytes)).toBe(true);
    expect(errors).toEqual([]);
  });
});
