import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countryOfMsisdn } from '../../src/customers/msisdn.js';
import { STATEMENT_COLUMNS, statementCsv } from '../../src/labels/statements/csv.js';
import { monthStatements, quarterVat, royaltyOwed } from '../../src/labels/statements/statements.js';
import { vatInGross } from '../../src/labels/vat.js';
import { signInAsOperator } from '../helpers/admin.js';
import { databaseKinds } from '../helpers/databases.js';
import { approvedAtPayPal } from '../helpers/purchase.js';
import { Shopper } from '../helpers/shopper.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

const run = promisify(execFile);
const STORE_BIN = path.resolve('bin/store.js');

describe('VAT and royalty rounding', () => {
  it('VAT per line is round-half-up of gross × rate / (100 + rate); refunds mirror sales; royalties floor and mirror', () => {
    expect(vatInGross(79, 2000)).toBe(13); // 13.166...
    expect(vatInGross(699, 2000)).toBe(117); // 116.5 -> 117 (half up)
    expect(vatInGross(3, 2000)).toBe(1); // 0.5 -> 1
    expect(vatInGross(-699, 2000)).toBe(-117);
    expect(vatInGross(100, 1750)).toBe(15); // 14.89...
    expect(vatInGross(0, 2000)).toBe(0);
    expect(royaltyOwed(582, 7000)).toBe(407); // 407.4
    expect(royaltyOwed(-582, 7000)).toBe(-407);
    expect(royaltyOwed(66, 6250)).toBe(41); // 41.25
  });

  it('the country of a mobile number is its ISO code, a test range counting for its calling code', () => {
    expect(countryOfMsisdn('447700900123')).toBe('GB');
    expect(countryOfMsisdn('353861234567')).toBe('IE');
  });
});

describe.each(databaseKinds())('statements and VAT on $kind', ({ kind, skip }) => {
  let store: TestStore;
  let now = new Date('2026-11-10T12:00:00Z');
  const ids = { labelA: 0, labelB: 0 };
  let releases: { id: number; slug: string }[] = [];
  const orderRefs: Record<string, string> = {};

  const db = () => store.database.db;

  async function buy(name: string, what: { releases?: number[]; tracks?: number[] }, country: string) {
    const shopper = new Shopper(store.baseUrl);
    await shopper.get(`/release/${releases[0]!.slug}`);
    for (const id of what.releases ?? []) await shopper.post('/basket/add', { kind: 'release', id: String(id) });
    for (const id of what.tracks ?? []) await shopper.post('/basket/add', { kind: 'track', id: String(id) });
    await shopper.get('/checkout');
    const pay = await shopper.post('/checkout', { method: 'paypal', adult: 'yes' });
    const token = new URL(pay.location!).searchParams.get('token')!;
    const { redirectUrl } = store.paypal.control.approve(token, { email: `${name}@buyers.example`, country });
    const page = await shopper.follow(await shopper.get(redirectUrl!));
    expect(page.html.querySelector('h1')?.text).toContain('paid');
    orderRefs[name] =
      page.location ?? (await db().selectFrom('orders').select('reference').orderBy('id', 'desc').executeTakeFirstOrThrow()).reference;
    return { shopper, page };
  }

  async function refund(name: string) {
    const order = await db()
      .selectFrom('orders')
      .innerJoin('payments', 'payments.order_id', 'orders.id')
      .select(['orders.total_pence', 'payments.capture_ref', 'payments.method'])
      .where('orders.reference', '=', orderRefs[name]!)
      .where('payments.status', '=', 'captured')
      .executeTakeFirstOrThrow();
    expect(await store.app.orders.recordRefund(order.method, order.capture_ref!, order.total_pence, 'test')).toBe('refunded');
  }

  /** Sales minus refunds of the month straight from the orders table, summed here rather than by the code under test. */
  async function ordersNet(from: string, to: string) {
    const paid = await db().selectFrom('orders').select('total_pence').where('paid_at', '>=', from).where('paid_at', '<', to).execute();
    const refundedIds = (
      await db()
        .selectFrom('order_events')
        .select('order_id')
        .where('to_status', '=', 'refunded')
        .where('from_status', '=', 'paid')
        .where('created_at', '>=', from)
        .where('created_at', '<', to)
        .execute()
    ).map((r) => r.order_id);
    const refunded = refundedIds.length
      ? await db().selectFrom('orders').select('total_pence').where('id', 'in', refundedIds).execute()
      : [];
    return paid.reduce((n, o) => n + o.total_pence, 0) - refunded.reduce((n, o) => n + o.total_pence, 0);
  }

  beforeAll(async () => {
    if (skip) return;
    store = await startTestStore(kind, {
      clock: () => now,
      env: { VAT_NUMBER: 'GB123456789', COMPANY_NAME: 'Northern Lights Music Ltd' },
      messaging: false,
    });
    releases = await db().selectFrom('releases').select(['id', 'slug']).orderBy('id').execute();
    const at = '2026-11-01 00:00:00';
    ids.labelA = Number(
      (
        await db()
          .insertInto('labels')
          .values({ name: 'Alder Records', royalty_basis_points: 7000, created_at: at, updated_at: at })
          .executeTakeFirstOrThrow()
      ).insertId,
    );
    ids.labelB = Number(
      (
        await db()
          .insertInto('labels')
          .values({
            name: 'Birch Sound',
            contact_email: 'royalties@birch.example',
            royalty_basis_points: 6250,
            created_at: at,
            updated_at: at,
          })
          .executeTakeFirstOrThrow()
      ).insertId,
    );
    await db().updateTable('releases').set({ label_id: ids.labelA, icpn: '5012345678900' }).where('id', '=', releases[0]!.id).execute();
    await db().updateTable('releases').set({ label_id: ids.labelB }).where('id', '=', releases[1]!.id).execute();
    const trackOf = async (releaseId: number) =>
      (await db().selectFrom('tracks').select('id').where('release_id', '=', releaseId).orderBy('id').executeTakeFirstOrThrow()).id;
    // November: three sales in two countries.
    await buy('nov1', { releases: [releases[0]!.id] }, 'GB');
    await buy('nov2', { tracks: [await trackOf(releases[1]!.id)], releases: [releases[2]!.id] }, 'IE');
    await buy('nov3', { tracks: [await trackOf(releases[1]!.id)] }, 'GB');
    // December: nov1 refunded; two new sales, one refunded in the same month.
    now = new Date('2026-12-05T09:00:00Z');
    await refund('nov1');
    await buy('dec1', { releases: [releases[1]!.id] }, 'GB');
    await buy('dec2', { tracks: [await trackOf(releases[0]!.id)] }, 'FR');
    await refund('dec2');
  });
  afterAll(async () => store?.close());

  it.skipIf(skip)('keeps the payer country as a two-letter code and the VAT rate on each order', async () => {
    const rows = await db().selectFrom('orders').select(['reference', 'country_code', 'vat_basis_points']).orderBy('id').execute();
    expect(rows.map((r) => r.country_code)).toEqual(['GB', 'IE', 'GB', 'GB', 'FR']);
    expect(rows.every((r) => r.vat_basis_points === 2000)).toBe(true);
  });

  it.skipIf(skip)(
    'each month: owed + store share + VAT = sales − refunds to the penny, with a refund of an earlier month as negative lines',
    async () => {
      for (const [month, from, to] of [
        ['2026-11', '2026-11-01 00:00:00', '2026-12-01 00:00:00'],
        ['2026-12', '2026-12-01 00:00:00', '2027-01-01 00:00:00'],
      ] as const) {
        const result = await monthStatements(db(), month);
        const stated = result.statements.reduce((n, s) => n + s.totals.owedPence + s.totals.storeSharePence + s.totals.vatPence, 0);
        expect(stated).toBe(await ordersNet(from, to));
        expect(result.reconciliation.balanced).toBe(true);
      }
      const november = await monthStatements(db(), '2026-11');
      const december = await monthStatements(db(), '2026-12');
      const lineOf = (r: typeof november, labelId: number) => r.statements.find((s) => s.label.id === labelId)!.lines;
      const [sale] = lineOf(november, ids.labelA);
      expect(sale).toMatchObject({
        productType: 'Release',
        icpn: '5012345678900',
        country: 'GB',
        unitsSold: 1,
        unitsRefunded: 0,
        royaltyBasisPoints: 7000,
      });
      expect(sale!.vatPence).toBe(vatInGross(sale!.grossPence, 2000));
      expect(sale!.owedPence).toBe(Math.floor(((sale!.grossPence - sale!.vatPence) * 7000) / 10000));
      const refundLine = lineOf(december, ids.labelA).find((l) => l.productType === 'Release')!;
      expect(refundLine).toMatchObject({
        unitsSold: 0,
        unitsRefunded: 1,
        grossPence: 0,
        refundsPence: sale!.grossPence,
        vatPence: -sale!.vatPence,
        netPence: -sale!.netPence,
        owedPence: -sale!.owedPence,
      });
      // A sale refunded in its own month nets to nothing.
      const frLine = lineOf(december, ids.labelA).find((l) => l.country === 'FR')!;
      expect(frLine).toMatchObject({ productType: 'Track', unitsSold: 1, unitsRefunded: 1, netPence: 0, owedPence: 0 });
      expect(
        lineOf(november, ids.labelB)
          .map((l) => l.country)
          .sort(),
      ).toEqual(['GB', 'IE']);
    },
  );

  it.skipIf(skip)('the quarter VAT summary by method and country reconciles with the statements', async () => {
    const vat = await quarterVat(db(), '2026-Q4');
    expect(vat.reconciled).toBe(true);
    const nov = await monthStatements(db(), '2026-11');
    const dec = await monthStatements(db(), '2026-12');
    expect(vat.totals.vatPence).toBe(nov.totals.vatPence + dec.totals.vatPence);
    expect(vat.totals.salesPence - vat.totals.refundsPence).toBe(
      nov.reconciliation.salesPence - nov.reconciliation.refundsPence + dec.reconciliation.salesPence - dec.reconciliation.refundsPence,
    );
    expect(vat.byMethodAndCountry.map((r) => `${r.paymentMethod}/${r.country}`)).toEqual(['paypal/FR', 'paypal/GB', 'paypal/IE']);
  });

  it.skipIf(skip)('order page, receipt and confirmation show the VAT and the VAT number', async () => {
    const { shopper, returnUrl } = await approvedAtPayPal(store, 'receipt@buyers.example', { release: releases[3]! });
    const page = await shopper.follow(await shopper.get(returnUrl));
    const total = await db()
      .selectFrom('orders')
      .select(['id', 'total_pence', 'reference'])
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    const items = await db().selectFrom('order_items').select('price_pence').where('order_id', '=', total.id).execute();
    const vat = items.reduce((n, i) => n + vatInGross(i.price_pence, 2000), 0);
    const money = (p: number) => `£${(p / 100).toFixed(2)}`;
    expect(page.html.querySelector('.vat')?.text).toBe(money(vat));
    expect(page.html.querySelector('.vat-number')?.text).toBe('GB123456789');
    const receipt = await shopper.get(`/orders/${total.reference}/receipt`);
    expect(receipt.status).toBe(200);
    expect(receipt.html.querySelector('.net')?.text).toBe(money(total.total_pence - vat));
    expect(receipt.text).toContain('Northern Lights Music Ltd');
    expect((await new Shopper(store.baseUrl).get(`/orders/${total.reference}/receipt`)).status).toBe(404);
    const mail = await db().selectFrom('outbox').select('body_text').where('order_id', '=', total.id).executeTakeFirstOrThrow();
    expect(mail.body_text).toContain(`including VAT at 20%: ${money(vat)}`);
    expect(mail.body_text).toContain('VAT number GB123456789');
  });

  it.skipIf(skip)('admin statements page, CSV and email through the outbox; VAT page', async () => {
    const admin = await signInAsOperator(store);
    const page = await admin.get('/admin/labels/statements?month=2026-12');
    expect(page.status).toBe(200);
    expect(page.html.querySelector('#reconciliation')?.getAttribute('data-balanced')).toBe('yes');
    expect(page.html.querySelectorAll('section.statement').length).toBe(3);
    expect((await admin.get('/admin/labels/statements?month=2026-13')).status).toBe(400);
    const csv = await admin.get(`/admin/labels/statements.csv?month=2026-12&label=${ids.labelA}`);
    expect(csv.status).toBe(200);
    expect(csv.text.split('\n')[0]).toBe(STATEMENT_COLUMNS.join(','));
    await admin.get('/admin/labels/statements?month=2026-12');
    const emailed = await admin.post('/admin/labels/statements/email', { month: '2026-12', label: String(ids.labelB) });
    expect(emailed.status).toBe(303);
    const mail = await db()
      .selectFrom('outbox')
      .select(['recipient', 'subject', 'body_text', 'kind'])
      .where('recipient', '=', 'royalties@birch.example')
      .executeTakeFirstOrThrow();
    expect(mail.subject).toContain('2026-12');
    expect(mail.body_text).toContain(STATEMENT_COLUMNS.join(','));
    const noContact = await admin.post('/admin/labels/statements/email', { month: '2026-12', label: String(ids.labelA) });
    expect(noContact.status).toBe(303);
    expect(await db().selectFrom('outbox').select('id').where('subject', 'like', '%Alder Records%').execute()).toHaveLength(0);
    const vatPage = await admin.get('/admin/labels/vat?quarter=2026-Q4');
    expect(vatPage.html.querySelector('#vat-reconciled')?.getAttribute('data-reconciled')).toBe('yes');
  });

  it.skipIf(skip)('npx store statements writes each label’s CSV and says the month balances', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'statements-'));
    try {
      const env = {
        ...process.env,
        DATABASE_URL: store.database.url,
        DATA_DIR: store.config.dataDir,
        LOG_LEVEL: 'warn',
        NODE_ENV: 'development',
      };
      const { stdout } = await run('node', [STORE_BIN, 'statements', '--month', '2026-12', '--out', out], { env });
      expect(stdout).toContain('(balanced)');
      const files = fs.readdirSync(out).sort();
      expect(files).toContain(`statement-2026-12-label-${ids.labelA}.csv`);
      const csv = fs.readFileSync(path.join(out, `statement-2026-12-label-${ids.labelA}.csv`), 'utf8');
      expect(csv.split('\n')[0]).toBe(STATEMENT_COLUMNS.join(','));
      expect(csv).toMatch(/,Release,,5012345678900,/);
      const bad = await run('node', [STORE_BIN, 'statements', '--month', '2026-13'], { env }).catch(
        (e: { code: number; stderr: string }) => e,
      );
      expect((bad as { code: number }).code).not.toBe(0);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it.skipIf(skip)(
    'a sale is paid at the label’s rate in force when it was paid: a later change leaves earlier statements as they were, and a refund takes back what its sale paid',
    async () => {
      const statementsOf = async (month: string) => {
        const result = await monthStatements(db(), month);
        return { result, csv: result.statements.map((s) => statementCsv(s, 'Store')) };
      };
      const november = await statementsOf('2026-11');
      const december = await monthStatements(db(), '2026-12');
      // (The store's clock stays behind the real one: sessions expire by the cookie's real-time age.)
      // A sale to Germany at Alder's 70%; the operator lowers the rate to 50%; another sale; the first is refunded.
      now = new Date('2026-12-06T10:00:00Z');
      await buy('de-old', { releases: [releases[0]!.id] }, 'DE');
      now = new Date('2026-12-06T11:00:00Z');
      const admin = await signInAsOperator(store);
      await admin.get(`/admin/labels/${ids.labelA}`);
      const saved = await admin.post(`/admin/labels/${ids.labelA}`, {
        name: 'Alder Records',
        contact_email: '',
        ddex_party_id: '',
        royalty_percent: '50',
      });
      expect(saved.status).toBe(303);
      const rate = await db().selectFrom('labels').select('royalty_basis_points').where('id', '=', ids.labelA).executeTakeFirstOrThrow();
      expect(rate.royalty_basis_points).toBe(5000);
      now = new Date('2026-12-06T12:00:00Z');
      await buy('de-new', { releases: [releases[0]!.id] }, 'DE');
      now = new Date('2026-12-06T13:00:00Z');
      await refund('de-old');

      // November, statement and CSV, is as it was; so is every line December had.
      expect(await statementsOf('2026-11')).toEqual(november);
      const after = await monthStatements(db(), '2026-12');
      const linesOf = (r: typeof after, labelId: number) => r.statements.find((s) => s.label.id === labelId)!.lines;
      for (const s of december.statements) for (const line of s.lines) expect(linesOf(after, s.label.id)).toContainEqual(line);
      expect(after.reconciliation.balanced).toBe(true);
      const stated = after.statements.reduce((n, s) => n + s.totals.owedPence + s.totals.storeSharePence + s.totals.vatPence, 0);
      expect(stated).toBe(await ordersNet('2026-12-01 00:00:00', '2027-01-01 00:00:00'));
      const german = linesOf(after, ids.labelA).filter((l) => l.country === 'DE');
      const byRate = Object.fromEntries(german.map((l) => [l.royaltyBasisPoints, l]));
      expect(Object.keys(byRate).sort()).toEqual(['5000', '7000']);
      // The 70% sale and its refund net to nothing; the new sale pays half its net.
      expect(byRate[7000]).toMatchObject({ unitsSold: 1, unitsRefunded: 1, netPence: 0, owedPence: 0 });
      expect(byRate[5000]).toMatchObject({ unitsSold: 1, unitsRefunded: 0 });
      expect(byRate[5000]!.owedPence).toBe(Math.floor((byRate[5000]!.netPence * 5000) / 10000));
      expect(byRate[5000]!.owedPence).toBeLessThan(royaltyOwed(byRate[5000]!.netPence, 7000));
    },
  );

  it.skipIf(skip)(
    'a sale stays with the label the release had when it was paid: a move to another label takes neither past sales nor their refunds with it',
    async () => {
      const birchRelease = releases[1]!;
      const at = '2026-12-06 13:30:00';
      const cedar = Number(
        (
          await db()
            .insertInto('labels')
            .values({ name: 'Cedar Tones', royalty_basis_points: 6000, created_at: at, updated_at: at })
            .executeTakeFirstOrThrow()
        ).insertId,
      );
      const november = await monthStatements(db(), '2026-11');
      // A December sale of Birch's release, then the release moves to Cedar (as a later DDEX message
      // naming another label moves it: test/integration/ddex-ingest.test.ts).
      now = new Date('2026-12-06T14:00:00Z');
      await buy('moved-old', { releases: [birchRelease.id] }, 'GB');
      const december = await monthStatements(db(), '2026-12');
      await db().updateTable('releases').set({ label_id: cedar }).where('id', '=', birchRelease.id).execute();

      // Earlier statements are as they were, and Cedar has none of Birch's sales.
      expect(await monthStatements(db(), '2026-11')).toEqual(november);
      expect(await monthStatements(db(), '2026-12')).toEqual(december);

      // After the move: a new sale is Cedar's; the refunds of a November sale and of the December one are Birch's.
      now = new Date('2026-12-06T15:00:00Z');
      await buy('moved-new', { releases: [birchRelease.id] }, 'GB');
      now = new Date('2026-12-06T16:00:00Z');
      await refund('nov3');
      await refund('moved-old');
      const totalOf = async (name: string) =>
        (await db().selectFrom('orders').select('total_pence').where('reference', '=', orderRefs[name]!).executeTakeFirstOrThrow())
          .total_pence;

      const after = await monthStatements(db(), '2026-12');
      expect(after.reconciliation.balanced).toBe(true);
      const stated = after.statements.reduce((n, s) => n + s.totals.owedPence + s.totals.storeSharePence + s.totals.vatPence, 0);
      expect(stated).toBe(await ordersNet('2026-12-01 00:00:00', '2027-01-01 00:00:00'));
      expect(await monthStatements(db(), '2026-11')).toEqual(november);

      const linesOf = (r: typeof after, labelId: number) => r.statements.find((s) => s.label.id === labelId)?.lines ?? [];
      expect(linesOf(after, cedar)).toEqual([
        expect.objectContaining({
          productType: 'Release',
          country: 'GB',
          unitsSold: 1,
          unitsRefunded: 0,
          grossPence: await totalOf('moved-new'),
          royaltyBasisPoints: 6000,
        }),
      ]);
      const birchRelease12 = (r: typeof after) => linesOf(r, ids.labelB).find((l) => l.productType === 'Release' && l.country === 'GB')!;
      expect(birchRelease12(after)).toMatchObject({
        unitsSold: birchRelease12(december).unitsSold,
        grossPence: birchRelease12(december).grossPence,
        unitsRefunded: 1,
        refundsPence: await totalOf('moved-old'),
        royaltyBasisPoints: 6250,
      });
      // The November track sale's refund takes back from Birch exactly what November paid Birch for it.
      const novTrack = linesOf(november, ids.labelB).find((l) => l.productType === 'Track' && l.country === 'GB')!;
      expect(linesOf(after, ids.labelB).find((l) => l.productType === 'Track' && l.country === 'GB')).toMatchObject({
        isrc: novTrack.isrc,
        title: novTrack.title,
        unitsSold: 0,
        unitsRefunded: 1,
        refundsPence: novTrack.grossPence,
        owedPence: -novTrack.owedPence,
      });
    },
  );
});
