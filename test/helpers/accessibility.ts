import { AxeBuilder } from '@axe-core/playwright';
import type { Page } from 'playwright-core';

/**
 * What axe-core finds wrong on the page as it stands, one line per rule with the elements it
 * names, so a failing test says what to fix. Every rule of every impact counts (minor included):
 * the store promises pages everyone can use, not pages without serious problems.
 */
export async function axeViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations.map(
    (v) => `${v.impact ?? 'unknown'} ${v.id}: ${v.help} -> ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
  );
}

/** A page to check: its name in a failure message and its path (or a full URL, for the stand-ins on their own ports). */
export interface PageToCheck {
  name: string;
  url: string;
}

/**
 * Opens each page in turn and collects axe's findings for all of them, and with `keyboard` what
 * keyboardProblems finds too, prefixed with the page's name, so one run lists every page's
 * problems rather than stopping at the first.
 */
export async function violationsOnPages(
  page: Page,
  baseUrl: string,
  pages: PageToCheck[],
  options: { keyboard?: boolean } = {},
): Promise<string[]> {
  const found: string[] = [];
  for (const { name, url } of pages) {
    const response = await page.goto(url.startsWith('http') ? url : `${baseUrl}${url}`);
    if (!response) throw new Error(`${name}: no response`);
    const problems = [...(await axeViolations(page)), ...(options.keyboard ? await keyboardProblems(page) : [])];
    for (const line of problems) found.push(`${name} (${url}): ${line}`);
  }
  return found;
}

/**
 * Walks the page with the Tab key from the top and returns, for every element the page offers to
 * act on (links, buttons, form fields; not hidden, not disabled, not taken out of the tab order),
 * what keeps it from a keyboard user: never reached by Tab, or reached without a visible focus
 * indicator (an outline or a ring of box-shadow).
 */
export async function keyboardProblems(page: Page): Promise<string[]> {
  const describe = () =>
    page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return null;
      const style = getComputedStyle(el);
      const visible = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none';
      return { key: el.dataset.walkKey ?? '', visible };
    });
  const actionable = await page.evaluate(() => {
    const found: { key: string; label: string }[] = [];
    document
      .querySelectorAll<HTMLElement>('a[href], button, input:not([type="hidden"]), select, textarea, summary, [tabindex]')
      .forEach((el, i) => {
        const shown = el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
        if (!shown || el.tabIndex < 0 || (el as HTMLButtonElement).disabled) return;
        // Tab reaches one radio button of a group (the arrow keys choose within it): the group is one stop.
        const input = el as HTMLInputElement;
        el.dataset.walkKey = input.type === 'radio' && input.name ? `radio:${input.form?.id ?? ''}:${input.name}` : String(i);
        found.push({
          key: el.dataset.walkKey,
          label: `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''} "${(el.textContent || input.name || '').trim().slice(0, 40)}"`,
        });
      });
    return found;
  });
  const reached = new Map<string, boolean>();
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  let previous: string | undefined;
  // Date fields take a Tab per part (day, month, year): room for three presses an element.
  for (let i = 0; i < actionable.length * 3 + 5; i++) {
    await page.keyboard.press('Tab');
    const focused = await describe();
    if (!focused) continue;
    // Back at an element met before (not the one just left): the walk has gone round the page.
    if (focused.key && focused.key !== previous && reached.has(focused.key)) break;
    reached.set(focused.key, (reached.get(focused.key) ?? true) && focused.visible);
    previous = focused.key;
  }
  const problems = actionable.flatMap(({ label, key }) =>
    !reached.has(key) ? [`not reachable by Tab: ${label}`] : reached.get(key) ? [] : [`no visible focus: ${label}`],
  );
  return [...new Set(problems)];
}
