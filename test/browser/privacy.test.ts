import { describe, expect, it } from 'vitest';
import { addAffiliate } from '../../src/affiliates/repository.js';
import { databaseKinds } from '../helpers/databases.js';
import { browserJourney } from '../helpers/browser.js';
import { startTestStore } from '../helpers/store.js';

describe.each(databaseKinds())('the privacy policy against a real browser on $kind', ({ kind, skip }) => {
  let affiliateId: number;
  const journey = browserJourney(async () => {
    // Consent required: every cookie in the list (session, affiliate, consent) can be set in one journey.
    const store = await startTestStore(kind, { env: { AFFILIATE_COOKIE_CONSENT: 'required' } });
    affiliateId = await addAffiliate(store.database.db, { name: 'Policy Blog', email: 'policy@affiliates.example', rateBasisPoints: 1000, flatPence: null }, new Date());
    return store;
  }, { skip });

  it.skipIf(journey.skipped)('lists exactly the cookies a shopper receives: referral, consent (through the banner, without JavaScript), basket', async () => {
    const context = await journey.browser.newContext({ javaScriptEnabled: false });
    const { page, errors } = await journey.newPage(context);
    await page.goto(`${journey.app.baseUrl}/?a=${affiliateId}`);
    // Before consent, only the cookie that binds the page's forms to this visitor (no consent needed: it is for security).
    expect((await context.cookies()).map((c) => c.name)).toEqual(['csrf']);

    await page.locator('.consent-banner button[value="accept"]').click();
    await page.waitForURL(`${journey.app.baseUrl}/`);
    expect(await page.locator('.consent-banner').count()).toBe(0);
    await page.goto(`${journey.app.baseUrl}/?a=${affiliateId}`);

    await page.locator('#new-releases + .grid .card__title').nth(0).click();
    await page.locator('.release__buy button').click();
    await page.waitForSelector('.flash');

    await page.goto(`${journey.app.baseUrl}/privacy`);
    const listed = await page.locator('.cookie-list tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-cookie')));
    const cookies = await context.cookies();
    expect(cookies.map((c) => c.name).sort()).toEqual([...listed].sort());
    expect(cookies.find((c) => c.name === 'a')!.value).toMatch(/^\d+$/);
    expect(cookies.find((c) => c.name === 'consent')!.value).toBe('yes');
    expect(errors).toEqual([]);
    await context.close();
  });
});
