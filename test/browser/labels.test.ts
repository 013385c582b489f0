import { describe, expect, it } from 'vitest';
import { createOperator, latestOperatorCode } from '../helpers/admin.js';
import { browserJourney } from '../helpers/browser.js';
import { databaseKinds } from '../helpers/databases.js';
import { buyWithPayPal } from '../helpers/purchase.js';
import { startTestStore } from '../helpers/store.js';

describe.each(databaseKinds())('labels in Chromium on $kind', ({ kind, skip }) => {
  let slug: string;
  const journey = browserJourney(
    async () => {
      const store = await startTestStore(kind, { env: { VAT_NUMBER: 'GB123456789' } });
      const db = store.database.db;
      const [first, second] = await db.selectFrom('releases').select(['id', 'slug']).orderBy('id').limit(2).execute();
      const at = '2026-01-01 00:00:00';
      const label = Number(
        (
          await db
            .insertInto('labels')
            .values({
              name: 'Wren & Co <Records>',
              contact_email: 'wren@labels.example',
              royalty_basis_points: 7000,
              created_at: at,
              updated_at: at,
            })
            .executeTakeFirstOrThrow()
        ).insertId,
      );
      await db
        .updateTable('releases')
        .set({ label_id: label, icpn: '5012345678900', on_sale_from: '2999-05-01' })
        .where('id', '=', second!.id)
        .execute();
      await db.updateTable('tracks').set({ isrc: 'GBWRN2600001' }).where('release_id', '=', second!.id).execute();
      await db.updateTable('releases').set({ label_id: label }).where('id', '=', first!.id).execute();
      slug = second!.slug;
      await buyWithPayPal(store, 'wren-fan@example.com', { release: first! });
      return store;
    },
    { skip },
  );

  it.skipIf(journey.skipped)('a release page shows its label, UPC, ISRCs and "Available from", without a buy button', async () => {
    const { page, errors } = await journey.newPage();
    await page.goto(`${journey.app.baseUrl}/release/${slug}`);
    expect(await page.locator('.release__label').textContent()).toBe('Wren & Co <Records>');
    expect(await page.locator('.release__icpn').textContent()).toBe('5012345678900');
    expect(await page.locator('.tracks__isrc').first().textContent()).toBe('ISRC GBWRN2600001');
    expect(await page.locator('[data-availability="upcoming"]').textContent()).toContain('Available from 1 May 2999');
    expect(await page.locator('form[action="/basket/add"]').count()).toBe(0);
    const jsonLd = JSON.parse((await page.locator('script[type="application/ld+json"]').textContent())!);
    expect(jsonLd.recordLabel.name).toBe('Wren & Co <Records>');
    expect(errors).toEqual([]);
  });

  it.skipIf(journey.skipped)('the admin statements page shows this month balanced, per label', async () => {
    const login = await createOperator(journey.app);
    const { page, errors } = await journey.newPage();
    await page.goto(`${journey.app.baseUrl}/admin/sign-in`);
    await page.fill('input[name="email"]', login.email);
    await page.fill('input[name="password"]', login.password);
    await page.locator('form.admin-form button[type="submit"]').click();
    await page.waitForURL(/\/admin\/sign-in\/code$/);
    await page.fill('input[name="code"]', await latestOperatorCode(journey.app, login.email));
    await page.locator('form.admin-form button[type="submit"]').click();
    await page.waitForURL((url) => url.pathname.startsWith('/admin') && !url.pathname.startsWith('/admin/sign-in'));
    await page.locator('.admin-nav a', { hasText: 'Labels' }).click();
    await page.locator('a', { hasText: 'Statements' }).first().click();
    await page.fill('input[name="month"]', new Date().toISOString().slice(0, 7));
    await page.locator('form[action="/admin/labels/statements"] button').click();
    await page.waitForURL(/month=/);
    expect(await page.locator('#reconciliation').getAttribute('data-balanced')).toBe('yes');
    const section = page.locator('section.statement', { hasText: 'Wren & Co <Records>' });
    expect(await section.locator('.statement-line').count()).toBe(1);
    expect(await section.locator('button', { hasText: 'Email to wren@labels.example' }).count()).toBe(1);
    expect(errors).toEqual([]);
  });
});
