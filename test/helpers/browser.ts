import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, inject, onTestFailed } from 'vitest';

/** Debian's Chromium, headless, with the flags this sandbox needs (no network beyond loopback). */
export async function launchBrowser(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}

/** Collects what would show as a problem in the browser: script errors, console errors, failed loads. */
export function watchForErrors(page: import('playwright-core').Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
  page.on('response', (response) => response.status() >= 400 && errors.push(`${response.status()} ${response.url()}`));
  return errors;
}

/**
 * When the test fails, prints what the page went through: every request with its answer (or why it
 * failed) and the text the page showed last, so a failure seen once in CI can be understood.
 */
function reportOnFailure(page: Page): void {
  const trail: string[] = [];
  page.on('requestfinished', async (request) => {
    // A request that finishes as the test closes the page has no response left to read: the trail says so rather than failing the run.
    const status = await request.response().then(
      (response) => response?.status(),
      () => '(page closed)',
    );
    trail.push(`${request.method()} ${request.url()} -> ${status} (${request.resourceType()})`);
  });
  page.on('requestfailed', (request) => trail.push(`${request.method()} ${request.url()} failed: ${request.failure()?.errorText}`));
  onTestFailed(async () => {
    const shown = page.isClosed()
      ? '(page closed)'
      : await page
          .locator('body')
          .innerText({ timeout: 2000 })
          .catch((error: Error) => `(unreadable: ${error.message})`);
    console.error(
      `Browser trail of the failed test:\n${trail.join('\n')}\nLast page: ${page.isClosed() ? '' : page.url()}\n${shown.slice(0, 1500)}`,
    );
  });
}

/** What a browser test drives: the store (or a stand-in) it started, and Chromium. */
export interface Journey<T> {
  /** No Chromium on this machine, or no database of this kind: the tests are skipped. */
  readonly skipped: boolean;
  /** What `start` returned; set before the first test. */
  readonly app: T;
  readonly browser: Browser;
  /** A new page (of `context`, or of its own) whose script errors, console errors and failed loads are collected. */
  newPage(context?: BrowserContext): Promise<{ page: Page; errors: string[] }>;
}

/**
 * The set-up every browser test shares: in beforeAll, `start` (a test store, a stand-in) then
 * Chromium; in afterAll, both closed, even when a start failed half-way. Call it in a describe.
 */
export function browserJourney<T extends { close(): Promise<void> }>(
  start: () => Promise<T>,
  options: { skip?: boolean } = {},
): Journey<T> {
  const chromiumPath = inject('chromiumPath');
  let app: T | undefined;
  let browser: Browser | undefined;
  const journey: Journey<T> = {
    skipped: !!options.skip || !chromiumPath,
    get app() {
      if (!app) throw new Error('the journey has not started');
      return app;
    },
    get browser() {
      if (!browser) throw new Error('the journey has not started');
      return browser;
    },
    async newPage(context) {
      const page = await (context ?? journey.browser).newPage();
      reportOnFailure(page);
      return { page, errors: watchForErrors(page) };
    },
  };
  beforeAll(async () => {
    if (journey.skipped) return;
    app = await start();
    browser = await launchBrowser(chromiumPath!);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });
  return journey;
}

/**
 * Clicks `link` and waits for the download it starts (Playwright's download event): the bytes and
 * the name the browser would save it under.
 */
export async function downloadByClicking(page: Page, link: import('playwright-core').Locator): Promise<{ name: string; bytes: Buffer }> {
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const stream = await download.createReadStream();
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return { name: download.suggestedFilename(), bytes: Buffer.concat(chunks) };
}

/** An MP3 as a player sees it: an ID3v2 tag, or straight away an MPEG audio frame header (11 sync bits). */
export function isMp3(bytes: Buffer): boolean {
  return bytes.subarray(0, 3).toString('latin1') === 'ID3' || (bytes.length > 1 && bytes[0] === 0xff && (bytes[1]! & 0xe0) === 0xe0);
}
