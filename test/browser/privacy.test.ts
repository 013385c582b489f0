import { describe, expect, it } from 'vitest';
import { addAffiliate } from '../../src/affiliates/repository.js';
import { databaseKinds } from '../helpers/databases.js';
import { browserJourney } from '../helpers/browser.js';
import { startTestStore } from '../helpers/store.js';

describe.each(databaseKinds())('the privacy policy against a real browser on $kind', ({ kind, skip }) => {
  let affiliateId: number;
  const journey = browserJourney(
    async () => {
      // Consent required: every cookie in the list (session, affiliate, consent) can be set in one journey.
      const store = await startTestStore(kind, { env: { AFFILIATE_COOKIE_CONSENT: 'required' } });
      affiliateId = await addAffiliate(
        store.database.db,
        { name: 'Policy Blog', email: 'policy@affiliates.example', rateBasisPoints: 1000, flatPence: null },
        new Date(),
      );
      return store;
    },
    { skip },
  );

  /** The names of the cookies Chromium holds now, sorted. */
  const cookieNames = async (context: import('playwright-core').BrowserContext) => (await context.cookies()).map((c) => c.name).sort();
  /** The cookies the privacy policy lists, as the page shows them. */
  const listedCookies = async (page: import('playwright-core').Page) => {
    await page.goto(`${journey.app.baseUrl}/privacy`);
    return page.locator('.cookie-list tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-cookie')!));
  };

  it.skipIf(journey.skipped)(
    'lists exactly the cookies a shopper receives: a referral credited on Accept, the choice, then a basket (without JavaScript)',
    async () => {
      const context = await journey.browser.newContext({ javaScriptEnabled: false });
      const { page, errors } = await journey.newPage(context);
      await page.goto(`${journey.app.baseUrl}/?a=${affiliateId}`);
      // Before consent, only the cookie that binds the page's forms to this visitor (no consent needed: it is for security).
      expect(await cookieNames(context)).toEqual(['csrf']);

      // Accepting on the page the referral link opened credits that affiliate, and sets nothing else: no session.
      await page.locator('.consent-banner button[value="accept"]').click();
      await page.waitForURL(`${journey.app.baseUrl}/`);
      expect(await page.locator('.consent-banner').count()).toBe(0);
      // The csrf cookie came with the page's forms (above); answering added the referral and the choice only.
      expect(await cookieNames(context)).toEqual(['a', 'consent', 'csrf']);
      expect((await context.cookies()).find((c) => c.name === 'a')!.value).toBe(String(affiliateId));
      expect((await context.cookies()).find((c) => c.name === 'consent')!.value).toBe('yes');

      await page.locator('#new-releases + .grid .card__title').nth(0).click();
      await page.locator('.release__buy button').click();
      await page.waitForSelector('.flash');

      const listed = await listedCookies(page);
      expect(await cookieNames(context)).toEqual([...listed].sort());
      expect(errors).toEqual([]);
      await context.close();
    },
  );

  it.skipIf(journey.skipped)('Decline sets the choice cookie and nothing else: no referral, no session', async () => {
    const context = await journey.browser.newContext({ javaScriptEnabled: false });
    const { page, errors } = await journey.newPage(context);
    await page.goto(`${journey.app.baseUrl}/?a=${affiliateId}`);
    await page.locator('.consent-banner button[value="decline"]').click();
    await page.waitForURL(`${journey.app.baseUrl}/`);
    expect(await cookieNames(context)).toEqual(['consent', 'csrf']);
    expect((await context.cookies()).find((c) => c.name === 'consent')!.value).toBe('no');
    // Every cookie held is one the policy lists.
    const listed = await listedCookies(page);
    expect(listed).toEqual(expect.arrayContaining(await cookieNames(context)));
    expect(errors).toEqual([]);
    await context.close();
  });
});
