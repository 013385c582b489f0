import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { browserJourney } from '../helpers/browser.js';
import { databaseKinds } from '../helpers/databases.js';
import { startTestStore } from '../helpers/store.js';

/** The widths of the laptops and desktops most shoppers use. */
const WIDTHS = [1366, 1920];

/**
 * For each cell of the totals row: its bottom edge, background and bottom border. A white gap
 * shows as a cell that stops short, stays white, or draws a rule the cell beside it does not.
 */
const totalsRow = (page: Page) =>
  page.locator('table.basket tfoot tr').evaluate((row) => {
    const rowBox = row.getBoundingClientRect();
    return Array.from(row.children).map((cell) => ({
      bottom: Math.round(cell.getBoundingClientRect().bottom - rowBox.bottom),
      background: getComputedStyle(cell).backgroundColor,
      rule: getComputedStyle(cell).borderBottomWidth,
    }));
  });

describe.each(databaseKinds())('the store laid out at laptop and desktop widths in Chromium on $kind', ({ kind, skip }) => {
  const journey = browserJourney(() => startTestStore(kind), { skip });

  it.skipIf(journey.skipped)(
    'fills the home shelf in whole rows, shows every title in full or with a tooltip, and lines up totals and tick boxes',
    async () => {
      const { page, errors } = await journey.newPage();
      for (const width of WIDTHS) {
        await page.setViewportSize({ width, height: 900 });
        await page.goto(journey.app.baseUrl);
        const lefts = await page
          .locator('#new-releases + .grid .card')
          .evaluateAll((cards) => cards.map((c) => Math.round(c.getBoundingClientRect().left)));
        const columns = new Set(lefts).size;
        expect(lefts.length % columns, `${lefts.length} cards in ${columns} columns at ${width}px`).toBe(0);
        // A title fits its two lines, or carries the whole of itself in a tooltip.
        const titles = await page
          .locator('.card__title')
          .evaluateAll((links) =>
            links.map((a) => ({ fits: a.scrollHeight <= a.clientHeight + 1, title: a.getAttribute('title'), text: a.textContent })),
          );
        for (const t of titles) expect(t.fits || t.title === t.text, `${t.text} at ${width}px`).toBe(true);
      }

      await page.locator('#new-releases + .grid .card__title').first().click();
      await page.locator('.release__buy button').click();
      await page.waitForSelector('.flash');
      for (const width of WIDTHS) {
        await page.setViewportSize({ width, height: 900 });
        for (const path of ['/basket', '/checkout']) {
          await page.goto(`${journey.app.baseUrl}${path}`);
          const cells = await totalsRow(page);
          expect(new Set(cells.map((c) => c.bottom)), `${path} at ${width}px`).toEqual(new Set([0]));
          expect(new Set(cells.map((c) => c.background)).size, `${path} at ${width}px`).toBe(1);
          expect(new Set(cells.map((c) => c.rule)).size, `${path} at ${width}px: bottom rules ${cells.map((c) => c.rule).join(', ')}`).toBe(
            1,
          );
        }
        const boxes = await page
          .locator('.check input[type="checkbox"]')
          .evaluateAll((inputs) =>
            inputs.map((i) => `${Math.round(i.getBoundingClientRect().width)}x${Math.round(i.getBoundingClientRect().height)}`),
          );
        expect(boxes.length).toBe(2);
        expect(new Set(boxes).size, `tick boxes ${boxes.join(', ')} at ${width}px`).toBe(1);
      }
      expect(errors).toEqual([]);
    },
  );
});
