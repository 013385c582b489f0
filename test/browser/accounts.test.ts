import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import { scanMp3 } from '../../src/catalogue/mp3/frames.js';
import { browserJourney } from '../helpers/browser.js';
import { databaseKinds } from '../helpers/databases.js';
import { startTestStore } from '../helpers/store.js';

function zipEntries(file: string): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true }, (error, zip) => {
      if (error || !zip) return reject(error ?? new Error('no zip file'));
      const entries = new Map<string, Buffer>();
      zip.on('entry', (entry: yauzl.Entry) =>
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError || !stream) return reject(streamError ?? new Error('no entry stream'));
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => (entries.set(entry.fileName, Buffer.concat(chunks)), zip.readEntry()));
        }),
      );
      zip.on('end', () => resolve(entries));
      zip.readEntry();
    });
  });
}

describe.each(databaseKinds())('a customer gets their music in Chromium on $kind', ({ kind, skip }) => {
  const journey = browserJourney(() => startTestStore(kind, { messaging: true }), { skip });
  const downloads = fs.mkdtempSync(path.join(os.tmpdir(), 'store-downloads-'));
  afterAll(() => fs.rmSync(downloads, { recursive: true, force: true }));

  async function buyFirstRelease(page: Page) {
    await page.goto(journey.app.baseUrl);
    await page.locator('#new-releases + .grid .card__title').first().click();
    await page.locator('.release__buy button').click();
    await page.waitForSelector('.flash');
    await page.goto(`${journey.app.baseUrl}/checkout`);
    await page.locator('input[name="adult"]').check();
  }

  /** The release's tracks download and play in the page; the ZIP holds every track and the cover. */
  async function downloadEverything(page: Page) {
    expect(await page.locator('h1').textContent()).toBe('Your music');
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('a[href^="/download/track/"]').first().click()]);
    expect(download.suggestedFilename()).toMatch(/^.+ - .+\.mp3$/);
    const trackFile = path.join(downloads, `${Date.now()}-${download.suggestedFilename()}`);
    await download.saveAs(trackFile);
    expect(scanMp3(fs.readFileSync(trackFile)).durationSeconds).toBeGreaterThan(1);
    // And it plays: the same route as the audio element's source.
    const href = await page.locator('a[href^="/download/track/"]').first().getAttribute('href');
    await page.evaluate((src) => {
      const audio = new Audio(src!);
      (window as unknown as { testAudio: HTMLAudioElement }).testAudio = audio;
      return audio.play();
    }, href);
    await page.waitForFunction(() => (window as unknown as { testAudio: HTMLAudioElement }).testAudio.currentTime > 0.3);

    const [zip] = await Promise.all([page.waitForEvent('download'), page.locator('a[href^="/download/release/"]').first().click()]);
    const zipFile = path.join(downloads, `${Date.now()}-${zip.suggestedFilename()}`);
    await zip.saveAs(zipFile);
    const entries = await zipEntries(zipFile);
    const mp3s = [...entries].filter(([name]) => name.endsWith('.mp3'));
    expect(mp3s.length).toBe(await page.locator('a[href^="/download/track/"]').count());
    for (const [, bytes] of mp3s) expect(scanMp3(bytes).frameCount).toBeGreaterThan(10);
  }

  it.skipIf(journey.skipped)(
    'pays with PayPal, gets the confirmation by real SMTP, opens My music from its link, downloads and plays',
    async () => {
      const context = await journey.browser.newContext({ acceptDownloads: true });
      const { page, errors } = await journey.newPage(context);
      await buyFirstRelease(page);
      await page.locator('button[value="paypal"]').click();
      await page.waitForURL((url) => url.toString().startsWith(journey.app.paypal.url));
      await page.fill('input[name="email"]', 'listener@example.com');
      await page.locator('button.approve').click();
      await page.waitForURL(/\/orders\/NL-/);

      await journey.app.smtp!.waitFor(1);
      const mail = journey.app.smtp!.received.find((m) => m.envelopeTo.includes('listener@example.com'))!;
      expect(mail.parsed.subject).toContain('NL-');
      expect(mail.parsed.html).toContain('Download your music');
      const link = /http\S+\/account\/link\/[A-Za-z0-9_-]{43}/.exec(mail.parsed.text!)![0];
      await page.goto(link);
      await page.waitForURL(/\/account\/music$/);
      await downloadEverything(page);
      expect(errors).toEqual([]);
      await context.close();
    },
  );

  it.skipIf(journey.skipped)('signs in again later with a code sent by email', async () => {
    const context = await journey.browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    await page.goto(`${journey.app.baseUrl}/account`);
    await page.fill('#contact', 'Listener@Example.com');
    await page.locator('button', { hasText: 'Send me a code' }).click();
    await page.waitForURL(/\/account\/code$/);
    await journey.app.smtp!.waitFor(2);
    const code = /\b(\d{6})\b/.exec(journey.app.smtp!.received.at(-1)!.parsed.text!)![1]!;
    await page.fill('#code', code);
    await page.locator('button', { hasText: 'Sign in' }).click();
    await page.waitForURL(/\/account\/music$/);
    expect(await page.locator('.library h2').count()).toBe(1);
    await context.close();
  });

  it.skipIf(journey.skipped)(
    'pays by mobile, gets the confirmation by SMS at the gateway stand-in, and its link works the same',
    async () => {
      const context = await journey.browser.newContext({ acceptDownloads: true });
      const page = await context.newPage();
      await buyFirstRelease(page);
      await page.locator('button[value="payforit"]').click();
      await page.waitForURL((url) => url.toString().startsWith(`${journey.app.payforit.url}/pay/`));
      await page.fill('#msisdn', '07700 900456');
      await page.locator('button', { hasText: 'Text me a PIN' }).click();
      await page.waitForSelector('#pin');
      await page.fill('#pin', (await page.locator('#test-pin').textContent())!);
      await page.locator('button', { hasText: 'Confirm' }).click();
      await page.waitForURL(/\/orders\/NL-/);

      const sms = await journey.app.waitForSms('+447700900456');
      const link = /http\S+\/l\/[A-Za-z0-9_-]{43}/.exec(sms)![0];
      await page.goto(link);
      await page.waitForURL(/\/account\/music$/);
      await downloadEverything(page);
      await context.close();
    },
  );
});
