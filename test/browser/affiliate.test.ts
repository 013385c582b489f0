import { describe, expect, it } from 'vitest';
import { addAffiliate, commissionPence } from '../../src/affiliates/repository.js';
import { formatPrice } from '../../src/web/view-helpers.js';
import { databaseKinds } from '../helpers/databases.js';
import { browserJourney } from '../helpers/browser.js';
import { startTestStore } from '../helpers/store.js';

describe.each(databaseKinds())('an affiliate referral in Chromium on $kind', ({ kind, skip }) => {
  let affiliateId: number;
  const journey = browserJourney(
    async () => {
      const store = await startTestStore(kind);
      affiliateId = await addAffiliate(
        store.database.db,
        { name: 'Chromium Blog', email: 'blog@affiliates.example', rateBasisPoints: 2000, flatPence: null },
        new Date(),
      );
      return store;
    },
    { skip },
  );

  it.skipIf(journey.skipped)(
    'follows a referral link, buys with PayPal, and the affiliate sees the order and its pending commission',
    async () => {
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
      const order = await journey.app.database.db
        .selectFrom('orders')
        .selectAll()
        .where('reference', '=', reference)
        .executeTakeFirstOrThrow();
      expect(order.affiliate_id).toBe(affiliateId);
      expect(errors).toEqual([]);
      await shopperContext.close();

      const affiliateContext = await journey.browser.newContext();
      await affiliateContext.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: journey.app.baseUrl });
      const { page: affiliatePage, errors: affiliateErrors } = await journey.newPage(affiliateContext);
      await affiliatePage.goto(`${journey.app.baseUrl}/affiliate`);
      await affiliatePage.waitForURL(/\/affiliate\/sign-in$/);
      await affiliatePage.fill('input[name="email"]', 'blog@affiliates.example');
      await affiliatePage.locator('button', { hasText: 'Send me a code' }).click();
      await affiliatePage.waitForURL(/\/affiliate\/code$/);
      const message = await journey.app.database.db
        .selectFrom('outbox')
        .select('body_text')
        .where('recipient', '=', 'blog@affiliates.example')
        .orderBy('id', 'desc')
        .executeTakeFirstOrThrow();
      await affiliatePage.fill('input[name="code"]', /\b(\d{6})\b/.exec(message.body_text)![1]!);
      await affiliatePage.locator('button', { hasText: 'Sign in' }).click();
      await affiliatePage.waitForURL(/\/affiliate$/);

      const row = affiliatePage.locator(`tr[data-month="${new Date().toISOString().slice(0, 7)}"]`);
      expect(await row.locator('.visits').textContent()).toBe('1');
      expect(await row.locator('.orders').textContent()).toBe('1');
      expect(await row.locator('.conversion').textContent()).toBe('100%');
      expect(await row.locator('.pending').textContent()).toBe(
        formatPrice(commissionPence(order.total_pence, { rate_basis_points: 2000, flat_pence: null })),
      );
      // The chart: a year of months, a visits bar and an orders bar each, axes, captions and a legend.
      const month = new Date().toISOString().slice(0, 7);
      const chart = affiliatePage.locator('svg.affiliate-chart');
      expect(await chart.locator('rect.chart__visits').count()).toBe(12);
      expect(await chart.locator(`rect.chart__orders[data-month="${month}"] title`).textContent()).toMatch(/: 1 order$/);
      expect(await chart.textContent()).toContain('VisitsOrders'); // the legend
      expect(await chart.getAttribute('aria-label')).toContain('1 visits, 1 orders');
      expect(await affiliatePage.locator('tfoot th').textContent()).toBe('All time');
      // The header says who is signed in, not "Sign in".
      expect(await affiliatePage.locator('.site-nav').textContent()).toContain('Signed in as Chromium Blog');
      expect(await affiliatePage.locator('.site-nav a', { hasText: 'Sign in' }).count()).toBe(0);
      // The referral link sits in a read-only field; the Copy button puts it on the clipboard.
      const link = `${journey.app.baseUrl}/?a=${affiliateId}`;
      expect(await affiliatePage.locator('#referral-link').inputValue()).toBe(link);
      expect(await affiliatePage.locator('#referral-link').getAttribute('readonly')).not.toBeNull();
      await affiliatePage.locator('button[data-copy="referral-link"]').click();
      await affiliatePage.waitForFunction(() => document.querySelector('button[data-copy="referral-link"]')!.textContent === 'Copied');
      expect(await affiliatePage.evaluate(() => navigator.clipboard.readText())).toBe(link);
      // The link builder's button sits beside its field, not across the whole card.
      const builderButton = (await affiliatePage.locator('.link-builder button').boundingBox())!;
      const builderField = (await affiliatePage.locator('#path').boundingBox())!;
      expect(builderButton.width).toBeLessThan(builderField.width / 2);
      expect(await affiliatePage.textContent('body')).not.toContain('referred.buyer@example.com');
      expect(affiliateErrors).toEqual([]);

      // Without script the Copy button stays hidden and the field is there to select and copy by hand.
      const noScript = await journey.browser.newContext({ javaScriptEnabled: false });
      await noScript.addCookies(await affiliateContext.cookies());
      const plain = await noScript.newPage();
      await plain.goto(`${journey.app.baseUrl}/affiliate`);
      expect(await plain.locator('#referral-link').inputValue()).toBe(link);
      expect(await plain.locator('#referral-link').isEditable()).toBe(false);
      expect(await plain.locator('button[data-copy="referral-link"]').isVisible()).toBe(false);
      await noScript.close();
      await affiliateContext.close();
    },
  );
});
