import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Migrator } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../migrations/index.js';
import { createImporter } from '../../src/catalogue/importer/importer.js';
import { importerMedia } from '../../src/media/index.js';
import { toDbTime } from '../../src/db/dialect.js';
import { signInAsOperator } from '../helpers/admin.js';
import { createTestDatabase, databaseKinds } from '../helpers/databases.js';
import { makeMp3 } from '../helpers/mp3.js';
import { Shopper } from '../helpers/shopper.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

const HOSTILE_TITLE = 'Night </script><script>alert(1)</script> & Day';

describe.each(databaseKinds())('labels and identifiers on $kind', ({ kind, skip }) => {
  let store: TestStore;
  let folder: string;

  beforeAll(async () => {
    if (skip) return;
    store = await startTestStore(kind, { env: { OWN_LABEL_NAME: 'Northern Lights Own' } });
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'labels-import-'));
    const tagged = {
      artist: 'Corvid Choir',
      album: HOSTILE_TITLE,
      label: 'Nightjar Records',
      barcode: '5012345678900',
      catalogueNumber: 'NJR-001',
      copyright: '2026 Nightjar Records Ltd',
      produced: '2026 Corvid Choir',
    };
    fs.writeFileSync(
      path.join(folder, '01.mp3'),
      makeMp3(2, { ...tagged, title: 'Feather', trackNumber: '1', isrc: 'GB-NJR-26-00001' }, 330),
    );
    fs.writeFileSync(path.join(folder, '02.mp3'), makeMp3(2, { ...tagged, title: 'Wing', trackNumber: '2', isrc: 'GBNJR2600002' }, 350));
    fs.mkdirSync(path.join(folder, 'untagged'));
    fs.writeFileSync(
      path.join(folder, 'untagged', '01.mp3'),
      makeMp3(2, { artist: 'Lone Heron', album: 'Marsh', title: 'Reed', trackNumber: '1' }, 370),
    );
    await createImporter({
      db: store.database.db,
      media: importerMedia(store.config.media).media,
      labels: { fallback: 'Marsh Tapes', ownLabelName: 'unused' },
    }).importFolder(folder);
  });
  afterAll(async () => {
    await store?.close();
    if (folder) fs.rmSync(folder, { recursive: true, force: true });
  });

  const db = () => store.database.db;
  const releaseOf = (title: string) =>
    db()
      .selectFrom('releases')
      .leftJoin('labels', 'labels.id', 'releases.label_id')
      .select([
        'releases.id',
        'releases.slug',
        'releases.icpn',
        'releases.catalogue_number',
        'releases.p_line',
        'releases.c_line',
        'labels.name as label',
      ])
      .where('releases.title', '=', title)
      .executeTakeFirstOrThrow();

  it.skipIf(skip)(
    'takes the label tag, else the --label option; keeps the ICPN, catalogue number, P-line, C-line and each ISRC',
    async () => {
      const nightjar = await releaseOf(HOSTILE_TITLE);
      expect(nightjar).toMatchObject({
        label: 'Nightjar Records',
        icpn: '5012345678900',
        catalogue_number: 'NJR-001',
        p_line: '2026 Corvid Choir',
        c_line: '2026 Nightjar Records Ltd',
      });
      const isrcs = await db().selectFrom('tracks').select('isrc').where('release_id', '=', nightjar.id).orderBy('track_number').execute();
      expect(isrcs.map((t) => t.isrc)).toEqual(['GBNJR2600001', 'GBNJR2600002']);
      expect((await releaseOf('Marsh')).label).toBe('Marsh Tapes');
      // The fixture library: its two releases tagged with a label are on it (the demo's labels), the rest,
      // imported with neither tag nor option, on the store's own label.
      const library = await db()
        .selectFrom('releases')
        .innerJoin('labels', 'labels.id', 'releases.label_id')
        .select(['releases.title', 'labels.name', 'labels.own_label'])
        .where('releases.title', '!=', 'Marsh')
        .where('releases.title', '!=', HOSTILE_TITLE)
        .execute();
      const labelled = library.filter((r) => r.own_label === 0).map((r) => [r.title, r.name]);
      expect(labelled.sort()).toEqual([
        ['Blue Hour Sessions', 'Smoke Room Jazz'],
        ['Neon Tides', 'Tideline Records'],
      ]);
      expect(library.length - labelled.length).toBeGreaterThan(0);
    },
  );

  it.skipIf(skip)(
    'release page shows label, identifiers and ISRCs, with MusicAlbum JSON-LD that a hostile title cannot break out of',
    async () => {
      const { slug } = await releaseOf(HOSTILE_TITLE);
      const page = await new Shopper(store.baseUrl).get(`/release/${slug}`);
      expect(page.status).toBe(200);
      expect(page.html.querySelector('.release__label')?.text).toBe('Nightjar Records');
      expect(page.html.querySelector('.release__icpn')?.text).toBe('5012345678900');
      expect(page.text).toContain('ISRC GBNJR2600001');
      expect(page.html.querySelector('.release__p-line')?.text).toBe('℗ 2026 Corvid Choir');
      expect(page.html.querySelector('.release__c-line')?.text).toBe('© 2026 Nightjar Records Ltd');
      const scripts = page.html.querySelectorAll('script[type="application/ld+json"]');
      expect(scripts).toHaveLength(1);
      const raw = scripts[0]!.innerHTML;
      expect(raw).not.toMatch(/<\/script|<script/i);
      expect(raw).toContain('\\u003c/script\\u003e');
      const data = JSON.parse(raw);
      expect(data).toMatchObject({
        '@type': 'MusicAlbum',
        name: HOSTILE_TITLE,
        gtin: '5012345678900',
        catalogNumber: 'NJR-001',
        recordLabel: { name: 'Nightjar Records' },
      });
      expect(data.track.map((t: { '@type': string; isrcCode: string }) => [t['@type'], t.isrcCode])).toEqual([
        ['MusicRecording', 'GBNJR2600001'],
        ['MusicRecording', 'GBNJR2600002'],
      ]);
      expect(
        page.html.querySelectorAll('script').filter((s) => s.getAttribute('type') !== 'application/ld+json' && !s.getAttribute('src')),
      ).toHaveLength(0);
    },
  );

  it.skipIf(skip)('a deal window in the future or past: the page says so and the release cannot be bought', async () => {
    const { id, slug } = await releaseOf('Marsh');
    const shopper = new Shopper(store.baseUrl);
    await db().updateTable('releases').set({ on_sale_from: '2999-01-31' }).where('id', '=', id).execute();
    const upcoming = await shopper.get(`/release/${slug}`);
    expect(upcoming.html.querySelector('[data-availability]')?.text).toBe('Available from 31 January 2999.');
    expect(upcoming.html.querySelector('form[action="/basket/add"]')).toBeNull();
    await shopper.get('/');
    await shopper.post('/basket/add', { kind: 'release', id: String(id) });
    expect((await shopper.get('/basket')).text).not.toContain('Marsh');
    await db().updateTable('releases').set({ on_sale_from: null, on_sale_until: '2001-01-01' }).where('id', '=', id).execute();
    const ended = await shopper.get(`/release/${slug}`);
    expect(ended.html.querySelector('[data-availability="ended"]')?.text).toBe('This release is no longer on sale.');
    await db().updateTable('releases').set({ on_sale_until: null }).where('id', '=', id).execute();
    expect((await shopper.get(`/release/${slug}`)).html.querySelector('form[action="/basket/add"]')).not.toBeNull();
  });

  it.skipIf(skip)('admin lists, adds and edits labels with CSRF and audit; bad input is a 400', async () => {
    const admin = await signInAsOperator(store);
    const list = await admin.get('/admin/labels');
    expect(list.status).toBe(200);
    expect(list.text).toContain('Nightjar Records');
    expect(list.text).toContain('Marsh Tapes');
    const bad = await admin.post('/admin/labels', {
      name: 'Heron',
      contact_email: 'x@y.example',
      ddex_party_id: '',
      royalty_percent: '170',
    });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('royalty rate must be a percentage');
    const noToken = await fetch(`${store.baseUrl}/admin/labels`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: store.baseUrl },
      body: 'name=X&royalty_percent=70',
    });
    expect(noToken.status).toBe(403);
    const added = await admin.post('/admin/labels', {
      name: 'Heron Sound',
      contact_email: 'Royalties@Heron.example',
      ddex_party_id: 'padpida2026010101h',
      royalty_percent: '62.5',
    });
    expect(added.status).toBe(303);
    const id = Number(added.location!.split('/').pop());
    expect(
      await db()
        .selectFrom('labels')
        .select(['name', 'contact_email', 'ddex_party_id', 'royalty_basis_points'])
        .where('id', '=', id)
        .executeTakeFirst(),
    ).toEqual({
      name: 'Heron Sound',
      contact_email: 'royalties@heron.example',
      ddex_party_id: 'PADPIDA2026010101H',
      royalty_basis_points: 6250,
    });
    await admin.get(`/admin/labels/${id}`);
    expect(
      (
        await admin.post(`/admin/labels/${id}`, {
          name: 'Heron Sound',
          contact_email: '',
          ddex_party_id: 'PADPIDA2026010101H',
          royalty_percent: '75',
        })
      ).status,
    ).toBe(303);
    expect((await admin.get(`/admin/labels/${id}`)).html.querySelector('#label-rate')?.text).toBe('75% of net receipts');
    const audit = await db()
      .selectFrom('admin_audit')
      .select(['action', 'target'])
      .where('target', '=', `label:${id}`)
      .orderBy('id')
      .execute();
    expect(audit.map((a) => a.action)).toEqual(['label.add', 'label.edit']);
    await admin.get('/admin/labels');
    const clash = await admin.post('/admin/labels', {
      name: 'Copycat',
      contact_email: '',
      ddex_party_id: 'PADPIDA2026010101H',
      royalty_percent: '70',
    });
    expect(clash.status).toBe(409);
    expect((await admin.get('/admin/labels/99999')).status).toBe(404);
  });
});

describe.each(databaseKinds())('migration 040 on $kind', ({ kind, skip }) => {
  it.skipIf(skip)("backfills releases made before labels to the store's own label, and migrates down again", async () => {
    const database = await createTestDatabase(kind);
    try {
      const migrator = new Migrator({ db: database.db, provider: { getMigrations: async () => migrations } });
      expect((await migrator.migrateTo('013_one_code_table')).error).toBeUndefined();
      const now = toDbTime(new Date());
      const artist = await database.db
        .insertInto('artists')
        .values({ name: 'Old', slug: 'old', created_at: now })
        .executeTakeFirstOrThrow();
      await database.db
        .insertInto('releases')
        .values({
          artist_id: Number(artist.insertId),
          import_key: 'old/one',
          title: 'One',
          slug: 'old-one',
          kind: 'album',
          created_at: now,
          updated_at: now,
        })
        .execute();
      expect((await migrator.migrateToLatest()).error).toBeUndefined();
      const row = await database.db
        .selectFrom('releases')
        .innerJoin('labels', 'labels.id', 'releases.label_id')
        .select(['labels.name', 'labels.own_label', 'labels.royalty_basis_points'])
        .executeTakeFirstOrThrow();
      expect(row).toEqual({ name: 'Own label', own_label: 1, royalty_basis_points: 7000 });

      // Down to before labels (through every later migration's down), and up again.
      expect((await migrator.migrateTo('030_media')).error).toBeUndefined();
      const tables = async () => (await database.db.introspection.getTables()).map((t) => t.name);
      expect(await tables()).not.toContain('labels');
      const releaseColumns = (await database.db.introspection.getTables()).find((t) => t.name === 'releases')!.columns.map((c) => c.name);
      expect(releaseColumns).not.toContain('label_id');
      expect((await migrator.migrateToLatest()).error).toBeUndefined();
      expect(await tables()).toContain('labels');
    } finally {
      await database.drop();
    }
  });
});

describe.each(databaseKinds())('migration 065 on $kind', ({ kind, skip }) => {
  it.skipIf(skip)('fixes on each paid line the label its release has, leaves unpaid lines empty, and migrates down again', async () => {
    const database = await createTestDatabase(kind);
    try {
      const db = database.db;
      const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
      expect((await migrator.migrateTo('060_label_rates_withdrawn_tracks')).error).toBeUndefined();
      const now = toDbTime(new Date());
      const label = Number(
        (
          await db
            .insertInto('labels')
            .values({ name: 'Alder', royalty_basis_points: 7000, created_at: now, updated_at: now })
            .executeTakeFirstOrThrow()
        ).insertId,
      );
      const artist = Number(
        (await db.insertInto('artists').values({ name: 'Old', slug: 'old', created_at: now }).executeTakeFirstOrThrow()).insertId,
      );
      const release = Number(
        (
          await db
            .insertInto('releases')
            .values({
              artist_id: artist,
              import_key: 'old/one',
              title: 'One',
              slug: 'old-one',
              kind: 'album',
              label_id: label,
              created_at: now,
              updated_at: now,
            })
            .executeTakeFirstOrThrow()
        ).insertId,
      );
      const order = async (reference: string, status: 'paid' | 'refunded' | 'pending') => {
        const id = Number(
          (
            await db
              .insertInto('orders')
              .values({
                reference,
                status,
                total_pence: 699,
                currency: 'GBP',
                payment_method: 'paypal',
                affiliate_id: null,
                customer_id: null,
                placed_by_customer_id: null,
                age_confirmed_at: now,
                marketing_opt_in: 0,
                vat_basis_points: 2000,
                created_at: now,
                expires_at: now,
                paid_at: status === 'pending' ? null : now,
                updated_at: now,
              })
              .executeTakeFirstOrThrow()
          ).insertId,
        );
        await db
          .insertInto('order_items')
          .values({ order_id: id, release_id: release, track_id: null, title: 'One', price_pence: 699 })
          .execute();
        return id;
      };
      const ids = {
        paid: await order('PAID1', 'paid'),
        refunded: await order('REFD1', 'refunded'),
        pending: await order('PEND1', 'pending'),
      };
      expect((await migrator.migrateToLatest()).error).toBeUndefined();
      const labelOf = async (orderId: number) =>
        (await db.selectFrom('order_items').select('label_id').where('order_id', '=', orderId).executeTakeFirstOrThrow()).label_id;
      expect([await labelOf(ids.paid), await labelOf(ids.refunded), await labelOf(ids.pending)]).toEqual([label, label, null]);
      expect((await migrator.migrateTo('060_label_rates_withdrawn_tracks')).error).toBeUndefined();
      expect((await migrator.migrateToLatest()).error).toBeUndefined();
    } finally {
      await database.drop();
    }
  });
});
