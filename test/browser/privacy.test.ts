import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { addAffiliate } from '../../src/affiliates/repository.js';
import { databaseKinds } from '../helpers/databases.js';
import { launchBrowser, watchForErrors } from '../helpers/browser.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

const chromiumPath = inject('chromiumPath');

describe.each(databaseKinds())('the privacy policy against a real browser on $kind', ({ kind, skip }) => {
  const skipped = skip || !chromiumPath;
  let store: TestStore;
  let browser: Browser;
  let affiliateId: number;

  beforeAll(async () => {
    if (skipped) return;
    // Consent required: every cookie in the list (session, affiliate, consent) can be set in one journey.
    store = await startTestStore(kind, { env: { AFFILIATE_COOKIE_CONSENT: 'required' } });
    browser = await launchBrowser(chromiumPath!);
    affiliateId = await addAffiliate(store.database.db, { name: 'Policy Blog', email: 'policy@affiliates.example', rateBasisPoints: 1000, flatPence: null }, new Date());
  });
  afterAll(async () => {
    await browser?.close();
    await store?.close();
  });

  it.skipIf(skipped)('lists exactly the cookies a shopper receives: referral, consent (through the banner, without JavaScript), basket', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const errors = watchForErrors(page);
    await page.goto(`${store.baseUrl}/?a=${affiliateId}`);
    expect((await context.cookies()).map((c) => c.name)).toEqual([]);

    await page.locator('.consent-banner button[value="accept"]').click();
    await page.waitForURL(`${store.baseUrl}/`);
    expect(await page.locator('.consent-banner').count()).toBe(0);
    await page.goto(`${store.baseUrl}/?a=${affiliateId}`);

    await page.locator('#new-releases + .grid .card__title').nth(0).click();
    await page.locator('.release__buy button').click();
    await page.waitForSelector('.flash');

    await page.goto(`${store.baseUrl}/privacy`);
    const listed = await page.locator('.cookie-list tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-cookie')));
    const cookies = await context.cookies();
    expect(cookies.map((c) => c.name).sort()).toEqual([...listed].sort());
    expect(cookies.find((c) => c.name === 'a')!.value).toMatch(/^\d+$/);
    expect(cookies.find((c) => c.name === 'consent')!.value).toBe('yes');
    expect(errors).toEqual([]);
    await context.close();
  });
});
