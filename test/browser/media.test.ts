import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseFile } from 'music-metadata';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { createImporter } from '../../src/catalogue/importer/importer.js';
import { importerMedia } from '../../src/media/index.js';
import { browserJourney } from '../helpers/browser.js';
import { databaseKinds } from '../helpers/databases.js';
import { FLAC_ALBUM, makeMasters } from '../helpers/masters.js';
import { startTestS3 } from '../helpers/s3.js';
import { newestCode } from '../helpers/sign-in.js';
import { startTestStore } from '../helpers/store.js';

const masters = makeMasters(fs.mkdtempSync(path.join(os.tmpdir(), 'store-masters-')));

/**
 * The "done when", in Chromium: a shopper buys a release imported from FLAC from a store
 * whose media is in object storage, and downloads it as FLAC and as MP3 320 (waiting on the
 * "preparing" page, which refreshes itself), both tagged with the cover; MP3-only releases offer MP3.
 */
describe.each(databaseKinds())('lossless downloads from object storage in Chromium on $kind', ({ kind, skip }) => {
  const journey = browserJourney(
    async () => {
      const s3 = await startTestS3();
      const store = await startTestStore(kind, { env: { ...s3.env, SIGN_IN_LIMIT_PER_CLIENT: '1000' }, encoding: true });
      await createImporter({ db: store.database.db, ...importerMedia(store.config.media) }).importFolder(masters.good);
      const closeStore = store.close.bind(store);
      return Object.assign(store, { s3, close: async () => (await closeStore(), await s3.close()) });
    },
    { skip },
  );
  const downloads = fs.mkdtempSync(path.join(os.tmpdir(), 'store-downloads-'));
  afterAll(() => fs.rmSync(downloads, { recursive: true, force: true }));

  async function save(page: Page, selector: string): Promise<string> {
    // The first answer may be the "preparing" page; its refresh ends in the download.
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 90_000 }), page.locator(selector).click()]);
    expect(download.url().startsWith(journey.app.s3.endpoint)).toBe(true);
    const file = path.join(downloads, `${Date.now()}-${download.suggestedFilename()}`);
    await download.saveAs(file);
    return file;
  }

  it.skipIf(journey.skipped)(
    'buys the FLAC release and downloads it as FLAC and as MP3 320, tagged with the cover, from the bucket',
    async () => {
      const context = await journey.browser.newContext({ acceptDownloads: true });
      const { page } = await journey.newPage(context);
      const release = await journey.app.database.db
        .selectFrom('releases')
        .select(['slug'])
        .where('title', '=', FLAC_ALBUM.album)
        .executeTakeFirstOrThrow();
      await page.goto(`${journey.app.baseUrl}/release/${release.slug}`);
      expect(await page.locator('.release__formats').textContent()).toBe('MP3 320, MP3 V0, FLAC, DRM-free');
      await page.locator('.release__buy button').click();
      await page.waitForSelector('.flash');
      await page.goto(`${journey.app.baseUrl}/checkout`);
      await page.locator('input[name="adult"]').check();
      await page.locator('button[value="paypal"]').click();
      await page.waitForURL((url) => url.toString().startsWith(journey.app.paypal.url));
      await page.fill('input[name="email"]', 'flac-fan@example.com');
      await page.locator('button.approve').click();
      await page.waitForURL(/\/orders\/NL-/);

      await page.goto(`${journey.app.baseUrl}/account`);
      await page.fill('#contact', 'flac-fan@example.com');
      await page.locator('button', { hasText: 'Send me a code' }).click();
      await page.waitForURL(/\/account\/code$/);
      await page.fill('#code', await newestCode(journey.app, 'flac-fan@example.com'));
      await page.locator('button', { hasText: 'Sign in' }).click();
      await page.waitForURL(/\/account\/music$/);

      const flac = await save(page, 'tr[data-track] .formats a[data-format="flac"] >> nth=0');
      expect(path.basename(flac)).toMatch(/Test Lossless - First Tone\.flac$/);
      const flacInfo = await parseFile(flac);
      expect(flacInfo.format).toMatchObject({ container: 'FLAC', sampleRate: 48000, bitsPerSample: 24, lossless: true });
      expect(flacInfo.common).toMatchObject({
        title: 'First Tone',
        artist: FLAC_ALBUM.artist,
        album: FLAC_ALBUM.album,
        track: { no: 1, of: 2 },
      });
      expect(flacInfo.common.picture?.[0]?.format).toBe('image/png');

      await page.goto(`${journey.app.baseUrl}/account/music`);
      const mp3 = await save(page, 'tr[data-track] .formats a[data-format="mp3-320"] >> nth=0');
      const mp3Info = await parseFile(mp3);
      expect(mp3Info.format.bitrate).toBe(320_000);
      expect(mp3Info.common).toMatchObject({
        title: 'First Tone',
        artist: FLAC_ALBUM.artist,
        albumartist: FLAC_ALBUM.artist,
        genre: [FLAC_ALBUM.genre],
      });
      expect(mp3Info.common.picture?.[0]?.format).toBe('image/png');

      // The choice is remembered: the plain Download button now says, and gives, MP3 320.
      await page.goto(`${journey.app.baseUrl}/account/music`);
      expect(await page.locator('tr[data-track] a.add-button').first().textContent()).toContain('MP3 320');
      await context.close();
    },
  );
});
