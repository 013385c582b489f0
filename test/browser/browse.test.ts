import { describe, expect, it } from 'vitest';
import { databaseKinds } from '../helpers/databases.js';
import { browserJourney } from '../helpers/browser.js';
import { startTestStore } from '../helpers/store.js';

describe.each(databaseKinds())('a shopper browsing in Chromium on $kind', ({ kind, skip }) => {
  const journey = browserJourney(() => startTestStore(kind), { skip });

  it.skipIf(journey.skipped)('goes from the home page to a release, plays a preview without leaving the page, and searches', async () => {
    // A CSP violation, a script error or a failed load shows up in `errors` and fails the journey.
    const { page, errors } = await journey.newPage();
    await page.goto(journey.app.baseUrl);
    expect(await page.locator('h2#new-releases').count()).toBe(1);
    const firstCard = page.locator('#new-releases + .grid .card__title').first();
    const releaseTitle = (await firstCard.textContent())!;
    await firstCard.click();
    await page.waitForURL(/\/release\//);
    expect(await page.locator('h1').textContent()).toBe(releaseTitle);
    // The cover art really loads (its first request makes the size shown, so it may still be on its way).
    await page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('.release__cover img');
      return !!img && img.complete && img.naturalWidth > 0;
    });

    const releaseUrl = page.url();
    // With script, each preview is a real toggle button: Space plays, Enter pauses, aria-pressed follows.
    const preview = page.locator('button[data-preview]').first();
    await preview.focus();
    expect(await preview.evaluate((el) => el.matches(':focus-visible') && getComputedStyle(el).outlineStyle !== 'none')).toBe(true);
    await page.keyboard.press('Space');
    await page.waitForFunction(() => {
      const audio = document.querySelector<HTMLAudioElement>('#player-audio');
      return !!audio && !audio.paused && audio.currentTime > 0.3;
    });
    expect(page.url()).toBe(releaseUrl);
    expect(await page.locator('#player').isVisible()).toBe(true);
    expect(await preview.getAttribute('aria-pressed')).toBe('true');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector<HTMLAudioElement>('#player-audio')!.paused);
    expect(await preview.getAttribute('aria-pressed')).toBe('false');
    // A click works the same.
    await preview.click();
    await page.waitForFunction(() => !document.querySelector<HTMLAudioElement>('#player-audio')!.paused);
    await preview.click();
    await page.waitForFunction(() => document.querySelector<HTMLAudioElement>('#player-audio')!.paused);

    const artist = (await page.locator('.release__artist a').textContent())!;
    const prefix = artist
      .split(/\s+/)
      .find((w) => w.length >= 4)!
      .slice(0, 4);
    await page.fill('#search-q', prefix.toLowerCase());
    await page.press('#search-q', 'Enter');
    await page.waitForURL(/\/search\?q=/);
    expect(await page.locator('#results-artist + .artist-list a').allTextContents()).toContain(artist);
    // Previews play from search results too.
    if ((await page.locator('#results-track').count()) > 0) {
      await page.locator('#results-track ~ table button[data-preview]').first().click();
      await page.waitForFunction(() => !document.querySelector<HTMLAudioElement>('#player-audio')!.paused);
    }
    expect(errors).toEqual([]);
  });

  it.skipIf(journey.skipped)('works without JavaScript: a preview link opens the MP3 itself', async () => {
    const context = await journey.browser.newContext({ javaScriptEnabled: false });
    const noJs = await context.newPage();
    await noJs.goto(journey.app.baseUrl);
    await noJs.locator('#new-releases + .grid .card__title').first().click();
    const href = await noJs.locator('a[data-preview]').first().getAttribute('href');
    const response = await noJs.request.get(journey.app.baseUrl + href);
    expect(response.status()).toBe(200);
    expect(response.headers()['content-type']).toBe('audio/mpeg');
    await context.close();
  });

  it.skipIf(journey.skipped)('lays the release page out in one column on a narrow screen', async () => {
    const context = await journey.browser.newContext({ viewport: { width: 390, height: 844 } });
    const phone = await context.newPage();
    await phone.goto(journey.app.baseUrl);
    await phone.locator('#new-releases + .grid .card__title').first().click();
    const cover = await phone.locator('.release__cover').boundingBox();
    const info = await phone.locator('.release__info').boundingBox();
    expect(info!.y).toBeGreaterThan(cover!.y + cover!.height - 1);
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    await phone.screenshot({ path: 'test-results/release-phone.png', fullPage: true });
    expect(overflow).toBeLessThanOrEqual(0);
    await context.close();
  });
});
