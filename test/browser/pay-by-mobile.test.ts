import { describe, expect, it } from 'vitest';
import type { BrowserContext } from 'playwright-core';
import { databaseKinds } from '../helpers/databases.js';
import { browserJourney, downloadByClicking, isMp3 } from '../helpers/browser.js';
import { startTestStore } from '../helpers/store.js';

describe.each(databaseKinds())('paying by mobile in Chromium on $kind', ({ kind, skip }) => {
  const journey = browserJourney(() => startTestStore(kind), { skip });

  /** Home page -> a release in the basket -> checkout -> Pay by mobile -> number, PIN, Confirm -> the order page. */
  async function buyByMobile(context: BrowserContext, typedNumber: string) {
    const { page, errors } = await journey.newPage(context);

    await page.goto(journey.app.baseUrl);
    await page.locator('#new-releases + .grid .card__title').first().click();
    await page.locator('.release__buy button').click();
    await page.waitForSelector('.flash');
    await page.locator('.site-nav a', { hasText: 'Basket' }).click();
    await page.locator('a', { hasText: 'Go to checkout' }).click();
    await page.waitForURL(/\/checkout$/);
    await page.locator('input[name="adult"]').check();
    await page.locator('button[value="payforit"]').click();

    // The intermediary's own page: the store's name, what is bought, the price, the phone bill.
    await page.waitForURL((url) => url.toString().startsWith(`${journey.app.payforit.url}/pay/`));
    const body = (await page.textContent('body'))!;
    expect(body).toContain(journey.app.config.storeName);
    expect(body).toContain('phone bill');
    await page.fill('#msisdn', typedNumber);
    await page.locator('button', { hasText: 'Text me a PIN' }).click();
    await page.waitForSelector('#pin');
    // The stand-in shows the text it "sent"; a person reads the PIN off it.
    const pin = (await page.locator('#test-pin').textContent())!;
    expect(journey.app.payforit.control.sentTexts('447700900123').at(-1)!.body).toContain(pin);
    await page.fill('#pin', pin);
    await page.locator('button', { hasText: 'Confirm' }).click();

    await page.waitForURL(/\/orders\/NL-/);
    expect(await page.locator('h1').textContent()).toContain('your order is paid');
    // The number as a person writes it, never the bare digits the store keeps.
    expect(await page.textContent('body')).toContain('+44 7700 900123');
    expect(await page.textContent('body')).not.toContain('447700900123');
    expect(await page.textContent('body')).toContain('Paid by mobile phone bill');
    // Press the download button: the file, at once, without a code.
    const file = await downloadByClicking(page, page.locator('.order-music a[href^="/download/track/"]').first());
    expect(file.name).toMatch(/\.mp3$/);
    expect(isMp3(file.bytes)).toBe(true);
    const reference = page.url().split('/orders/')[1]!;
    await page.close();
    return { reference, errors };
  }

  it.skipIf(journey.skipped)(
    'pays at the stand-in with a typed number and the texted PIN, and lands on a paid order keyed by that number alone',
    async () => {
      const context = await journey.browser.newContext();
      const { reference, errors } = await buyByMobile(context, '07700 900123');
      await context.close();

      const db = journey.app.database.db;
      const order = await db.selectFrom('orders').selectAll().where('reference', '=', reference).executeTakeFirstOrThrow();
      expect(order).toMatchObject({ status: 'paid', payment_method: 'payforit' });
      const customer = await db.selectFrom('customers').selectAll().where('id', '=', order.customer_id!).executeTakeFirstOrThrow();
      expect(customer.msisdn).toBe('447700900123');
      expect(customer.email).toBeNull();
      const overview = await db.selectFrom('order_overview').selectAll().where('reference', '=', reference).executeTakeFirstOrThrow();
      expect(overview.contact).toBe('447700900123');
      expect(errors).toEqual([]);
    },
  );

  it.skipIf(journey.skipped)('works the same with JavaScript off, with the number typed in international form', async () => {
    const context = await journey.browser.newContext({ javaScriptEnabled: false });
    const { reference, errors } = await buyByMobile(context, '+44 7700 900123');
    await context.close();
    const db = journey.app.database.db;
    const order = await db
      .selectFrom('orders')
      .select(['status', 'customer_id'])
      .where('reference', '=', reference)
      .executeTakeFirstOrThrow();
    expect(order.status).toBe('paid');
    // The same number is the same customer.
    expect(await db.selectFrom('customers').select('id').where('msisdn', '=', '447700900123').execute()).toHaveLength(1);
    expect(errors).toEqual([]);
  });
});
