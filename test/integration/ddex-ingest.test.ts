import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importerMedia } from '../../src/media/index.js';
import { keys } from '../../src/media/keys.js';
import { createIngester, type Ingester } from '../../src/labels/ddex/ingest.js';
import { monthOf, monthStatements } from '../../src/labels/statements/statements.js';
import { parseErn, RefusedMessage } from '../../src/labels/ddex/ern.js';
import { signInAsOperator } from '../helpers/admin.js';
import { databaseKinds } from '../helpers/databases.js';
import { completeBatch, writeNewRelease, writePurge, type ReleaseSpec } from '../helpers/ddex.js';
import { buyWithPayPal } from '../helpers/purchase.js';
import { Shopper } from '../helpers/shopper.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

const ICPN = '5099999000011';
const FUTURE = '5099999000028';
const TRIO = '5099999000073';
const LOSSLESS = '5099999000080';
const UNTYPED = '5099999000110';
const MOVING = '5099999000127';
const NEW_RELEASE: ReleaseSpec = {
  messageId: 'MSG-0001',
  icpn: ICPN,
  title: 'Hover',
  artist: 'Kestrel Lane',
  catalogueNumber: 'KST-001',
  tracks: [
    { isrc: 'GBKST2600001', title: 'Stoop' },
    { isrc: 'GBKST2600002', title: 'Glide' },
  ],
  deals: [
    { territories: ['Worldwide'], retail: { amount: '5.49' } },
    { territories: ['Worldwide'], useType: 'OnDemandStream', model: 'SubscriptionModel', retail: { amount: '0.99' } },
    { territories: ['US'], retail: { amount: '9.99', currency: 'USD' } },
  ],
};

describe('ERN parsing refuses what it must', () => {
  it('refuses a DOCTYPE (XXE), XML that is not ERN, and XML that is not well-formed', () => {
    const xxe = Buffer.from(
      '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><ern:NewReleaseMessage xmlns:ern="http://ddex.net/xml/ern/43"><MessageHeader><MessageId>&e;</MessageId></MessageHeader></ern:NewReleaseMessage>',
    );
    expect(() => parseErn(xxe)).toThrow(/DOCTYPE/);
    expect(() => parseErn(Buffer.from('<invoice><total>1</total></invoice>'))).toThrow(/not a DDEX ERN/);
    expect(() => parseErn(Buffer.from('<ern:NewReleaseMessage><MessageHeader>'))).toThrow(RefusedMessage);
    expect(() => parseErn(Buffer.alloc(6 * 1024 * 1024, 32))).toThrow(/larger than/);
  });
});

/** An acknowledgement as data: the ern-c-sftp AcknowledgementMessage and its ReleaseStatus composites. */
function parseAck(xml: string) {
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', isArray: (name) => name === 'ReleaseStatus' }).parse(xml);
  const root = doc['ern-c-sftp:AcknowledgementMessage'];
  type Status = {
    ReleaseId: { ICPN?: string } | '';
    ReleaseStatus: string[];
    ErrorText?: string;
    AffectedResource?: { ISRC: string };
    Acknowledgement: Record<string, any>;
  };
  return {
    namespace: root['@xmlns:ern-c-sftp'] as string,
    header: root.MessageHeader as { MessageSender: { PartyId: string }; MessageRecipient: { PartyId: string } },
    releases: (root.ReleaseStatus as Status[]).map((r) => ({
      icpn: r.ReleaseId === '' ? null : (r.ReleaseId.ICPN?.toString() ?? null),
      status: r.ReleaseStatus[0],
      errorText: r.ErrorText ?? null,
      ...(r.AffectedResource ? { affectedIsrc: r.AffectedResource.ISRC } : {}),
      batch: String(r.Acknowledgement.BatchId),
      messageId: String(r.Acknowledgement.MessageId),
      fileStatus: r.Acknowledgement.MessageStatus.Status as string,
    })),
  };
}

describe('ERN 4.3 as distributors send it', () => {
  it('reads UTF-16 as well as UTF-8, decodes entities, takes the PriceCode tier and the SHA-256 HashSum, skips a pre-order price', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ern-read-'));
    try {
      const file = writeNewRelease(dir, {
        messageId: 'MSG-U16',
        icpn: '5099999000097',
        title: 'Salt & Pepper <Live>',
        artist: 'Kestrel Lane',
        tracks: [{ isrc: 'GB-KST-26-00099', title: 'Fish & Chips' }],
        deals: [
          { territories: ['GB'], retail: { amount: '9.99' }, priceType: 'PreOrderPrice' },
          { territories: ['GB'], tier: 'Mid', priceType: 'StandardRetailPrice' },
        ],
      });
      const utf8 = fs.readFileSync(file);
      const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(utf8.toString('utf8').replace('UTF-8', 'UTF-16'), 'utf16le')]);
      for (const bytes of [utf8, utf16]) {
        const message = parseErn(bytes);
        if (message.kind !== 'NewReleaseMessage') throw new Error(message.kind);
        expect(message).toMatchObject({ messageId: 'MSG-U16', senderPartyId: 'PADPIDA2026SENDER', recipientPartyId: 'PADPIDA2026STORE1' });
        const [release] = message.releases;
        expect(release).toMatchObject({ title: 'Salt & Pepper <Live>', icpn: '5099999000097', labelReference: 'PLabel' });
        expect(release!.deals.map((d) => [d.priceTier, d.retailPrice])).toEqual([
          [null, null],
          ['Mid', null],
        ]);
        expect(message.soundRecordings[0]).toMatchObject({ title: 'Fish & Chips', file: { hashAlgorithm: 'SHA-256', codec: 'MP3' } });
        expect(message.parties.find((p) => p.reference === 'PLabel')).toMatchObject({
          name: 'Kestrel Music',
          partyId: 'PADPIDA2026KESTREL',
        });
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.each(databaseKinds())('DDEX ERN ingest on $kind', ({ kind, skip }) => {
  let store: TestStore;
  let delivery: string;
  let ingester: Ingester;
  const db = () => store.database.db;
  const batch = (name: string) => path.join(delivery, name);
  const ack = (file: string) => fs.readFileSync(path.join(path.dirname(file), `ACK_${path.basename(file)}`), 'utf8');
  const ackOf = (file: string) => parseAck(ack(file));
  const release = () =>
    db()
      .selectFrom('releases')
      .leftJoin('labels', 'labels.id', 'releases.label_id')
      .select([
        'releases.id',
        'releases.slug',
        'releases.title',
        'releases.price_pence',
        'releases.hidden',
        'releases.on_sale_from',
        'labels.name as label',
        'labels.ddex_party_id',
        'labels.royalty_basis_points',
      ])
      .where('releases.icpn', '=', ICPN)
      .executeTakeFirstOrThrow();
  const counts = async () => ({
    releases: (await db().selectFrom('releases').select('id').execute()).length,
    tracks: (await db().selectFrom('tracks').select('id').execute()).length,
    labels: (await db().selectFrom('labels').select('id').execute()).length,
    hidden: (await db().selectFrom('releases').select('id').where('hidden', '=', 1).execute()).length,
    updated: (await db().selectFrom('releases').select('updated_at').orderBy('updated_at', 'desc').executeTakeFirst())?.updated_at,
  });

  beforeAll(async () => {
    if (skip) return;
    store = await startTestStore(kind);
    delivery = fs.mkdtempSync(path.join(os.tmpdir(), 'ddex-delivery-'));
    const { media, ffmpegPath } = importerMedia(store.config.media);
    ingester = createIngester({ db: db(), media, ffmpegPath, settings: store.config.labels });
  });
  afterAll(async () => {
    await store?.close();
    if (delivery) fs.rmSync(delivery, { recursive: true, force: true });
  });

  it.skipIf(skip)(
    'leaves a batch without its BatchComplete marker for later, then applies a new release: label from the party, tracks, ISRCs, GBP retail price',
    async () => {
      const message = writeNewRelease(path.join(batch('B001'), ICPN), NEW_RELEASE);
      const before = await ingester.ingestFolder(delivery);
      expect(before).toEqual({ outcomes: [], waiting: ['B001'] });
      expect(fs.existsSync(path.join(path.dirname(message), `ACK_${path.basename(message)}`))).toBe(false);
      completeBatch(batch('B001'));
      const { outcomes } = await ingester.ingestFolder(delivery);
      expect(outcomes.map((o) => [o.status, o.reason])).toEqual([['accepted', null]]);
      // The choreography's AcknowledgementMessage, from the store (the message's recipient) back to its sender.
      expect(ackOf(message)).toEqual({
        namespace: 'http://ddex.net/xml/ern-c-sftp/18',
        header: expect.objectContaining({
          MessageSender: { PartyId: 'PADPIDA2026STORE1' },
          MessageRecipient: { PartyId: 'PADPIDA2026SENDER' },
        }),
        releases: [
          {
            icpn: ICPN,
            status: 'SuccessfullyIngestedByReleaseDistributor',
            errorText: null,
            batch: 'B001',
            messageId: 'MSG-0001',
            fileStatus: 'FileOK',
          },
        ],
      });
      const row = await release();
      expect(row).toMatchObject({
        title: 'Hover',
        price_pence: 549,
        hidden: 0,
        label: 'Kestrel Music',
        ddex_party_id: 'PADPIDA2026KESTREL',
        royalty_basis_points: 7000,
      });
      const tracks = await db()
        .selectFrom('tracks')
        .select(['title', 'isrc', 'track_number'])
        .where('release_id', '=', row.id)
        .orderBy('track_number')
        .execute();
      expect(tracks).toEqual([
        { title: 'Stoop', isrc: 'GBKST2600001', track_number: 1 },
        { title: 'Glide', isrc: 'GBKST2600002', track_number: 2 },
      ]);
      const page = await new Shopper(store.baseUrl).get(`/release/${row.slug}`);
      expect(page.html.querySelector('.release__price .price')?.text).toBe('£5.49');
      expect(page.html.querySelector('.release__label')?.text).toBe('Kestrel Music');
      expect(page.text).toContain('ISRC GBKST2600001');
      // Running again reads nothing: every message there is acknowledged.
      expect((await ingester.ingestFolder(delivery)).outcomes).toEqual([]);
    },
  );

  it.skipIf(skip)(
    'a later message about the same ICPN replaces its title and price; the same message delivered again changes nothing',
    async () => {
      const { id } = await release();
      writeNewRelease(path.join(batch('B002'), ICPN), {
        ...NEW_RELEASE,
        messageId: 'MSG-0002',
        title: 'Hover (Deluxe)',
        deals: [{ retail: { amount: '6.99' } }],
      });
      completeBatch(batch('B002'));
      expect((await ingester.ingestFolder(delivery)).outcomes.map((o) => o.status)).toEqual(['accepted']);
      expect(await release()).toMatchObject({ id, title: 'Hover (Deluxe)', price_pence: 699 });
      const page = await new Shopper(store.baseUrl).get(`/release/${(await release()).slug}`);
      expect(page.html.querySelector('h1')?.text).toBe('Hover (Deluxe)');
      expect(page.html.querySelector('.release__price .price')?.text).toBe('£6.99');
      // The first message again, byte for byte, in a new batch.
      fs.mkdirSync(path.join(batch('B003'), ICPN), { recursive: true });
      fs.cpSync(path.join(batch('B001'), ICPN), path.join(batch('B003'), ICPN), {
        recursive: true,
        filter: (src) => !path.basename(src).startsWith('ACK_'),
      });
      completeBatch(batch('B003'));
      const before = await counts();
      const { outcomes } = await ingester.ingestFolder(delivery);
      expect(outcomes.map((o) => o.status)).toEqual(['unchanged']);
      expect(await counts()).toEqual(before);
      expect(await release()).toMatchObject({ title: 'Hover (Deluxe)', price_pence: 699 });
    },
  );

  it.skipIf(skip)(
    'a future-dated deal shows "Available from" and cannot be bought; a price tier without retail maps through DDEX_PRICE_TIERS',
    async () => {
      const message = writeNewRelease(path.join(batch('B004'), FUTURE), {
        ...NEW_RELEASE,
        messageId: 'MSG-0004',
        icpn: FUTURE,
        title: 'Later',
        tracks: [{ isrc: 'GBKST2600003', title: 'Soon' }],
        deals: [{ territories: ['GB'], start: '2999-03-01', tier: 'Budget' }],
      });
      completeBatch(batch('B004'));
      await ingester.ingestFolder(delivery);
      expect(ackOf(message).releases[0]).toMatchObject({
        status: 'SuccessfullyIngestedByReleaseDistributor',
        errorText: 'available from 2999-03-01',
      });
      const later = await db()
        .selectFrom('releases')
        .select(['id', 'slug', 'price_pence', 'on_sale_from'])
        .where('icpn', '=', FUTURE)
        .executeTakeFirstOrThrow();
      expect(later).toMatchObject({ price_pence: 499, on_sale_from: '2999-03-01' });
      const shopper = new Shopper(store.baseUrl);
      const page = await shopper.get(`/release/${later.slug}`);
      expect(page.html.querySelector('[data-availability="upcoming"]')?.text).toBe('Available from 1 March 2999.');
      await shopper.post('/basket/add', { kind: 'release', id: String(later.id) });
      expect((await shopper.get('/basket')).text).not.toContain('Later');
    },
  );

  it.skipIf(skip)('refuses malformed deliveries with a reason in words, changing nothing', async () => {
    const dir = batch('B005');
    const cases: [string, string, string][] = [
      [
        writeNewRelease(path.join(dir, 'hash'), {
          ...NEW_RELEASE,
          messageId: 'BAD-1',
          icpn: '5099999000035',
          tracks: [{ isrc: 'GBKST2600009', title: 'X', badHash: true }],
        }),
        'does not match its SHA-256 hash',
        'SignatureOrHashSumWrongOrMissing',
      ],
      [
        writeNewRelease(path.join(dir, 'missing'), {
          ...NEW_RELEASE,
          messageId: 'BAD-2',
          icpn: '5099999000042',
          tracks: [{ isrc: 'GBKST2600010', title: 'Y', missing: true }],
        }),
        'is missing',
        'ResourceMissing',
      ],
      [
        writeNewRelease(path.join(dir, 'nolabel'), { ...NEW_RELEASE, messageId: 'BAD-3', icpn: '5099999000059', label: null }),
        'has no label',
        'MetadataMissing',
      ],
      [
        writeNewRelease(path.join(dir, 'notracks'), { ...NEW_RELEASE, messageId: 'BAD-4', icpn: '5099999000066', tracks: [] }),
        'has no tracks',
        'MetadataMissing',
      ],
    ];
    // A second track whose file is fine does not save the release: the message is refused whole.
    const notErn = path.join(dir, 'other', 'invoice.xml');
    fs.mkdirSync(path.dirname(notErn), { recursive: true });
    fs.writeFileSync(notErn, '<?xml version="1.0"?><Invoice><Total>9</Total></Invoice>');
    cases.push([notErn, 'not a DDEX ERN', 'NewReleaseMessageInvalid']);
    const xxe = path.join(dir, 'xxe', 'xxe.xml');
    fs.mkdirSync(path.dirname(xxe), { recursive: true });
    fs.writeFileSync(
      xxe,
      '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]><ern:NewReleaseMessage xmlns:ern="http://ddex.net/xml/ern/43"><MessageHeader><MessageId>&e;</MessageId></MessageHeader></ern:NewReleaseMessage>',
    );
    cases.push([xxe, 'DOCTYPE', 'NewReleaseMessageInvalid']);
    completeBatch(dir);
    const before = await counts();
    const { outcomes } = await ingester.ingestFolder(delivery);
    expect(outcomes).toHaveLength(cases.length);
    expect(outcomes.every((o) => o.status === 'refused')).toBe(true);
    for (const [file, reason, fileStatus] of cases) {
      const [status, ...more] = ackOf(file).releases;
      expect(more).toEqual([]);
      expect(status).toMatchObject({ status: 'ProcessingErrorAtReleaseDistributor', fileStatus });
      expect(status!.errorText).toContain(reason);
    }
    // The refusal names the release it was about, where the message could be read.
    expect(ackOf(cases[0]![0]).releases[0]!.icpn).toBe('5099999000035');
    expect(await counts()).toEqual(before);
  });

  it.skipIf(skip)(
    'a PurgeReleaseMessage takes the release down: gone from pages, search and sitemap; buyers keep their entitlements',
    async () => {
      const { id, slug } = await release();
      await buyWithPayPal(store, 'kestrel-fan@buyers.example', { release: { id, slug } });
      writePurge(batch('B006'), 'MSG-0006', ICPN);
      completeBatch(batch('B006'));
      expect((await ingester.ingestFolder(delivery)).outcomes.map((o) => [o.status, o.releases[0]?.status])).toEqual([
        ['accepted', 'taken down'],
      ]);
      expect((await release()).hidden).toBe(1);
      const visitor = new Shopper(store.baseUrl);
      expect((await visitor.get(`/release/${slug}`)).status).toBe(404);
      expect((await visitor.get('/search?q=Hover')).text).not.toContain(`/release/${slug}`);
      expect((await visitor.get('/sitemap.xml')).text).not.toContain(`/release/${slug}`);
      const entitlements = await db()
        .selectFrom('entitlements')
        .innerJoin('tracks', 'tracks.id', 'entitlements.track_id')
        .select(['entitlements.revoked_at'])
        .where('tracks.release_id', '=', id)
        .execute();
      expect(entitlements.length).toBe(2);
      expect(entitlements.every((e) => e.revoked_at === null)).toBe(true);
    },
  );

  it.skipIf(skip)(
    'a release delivered as FLAC is kept as delivered and offered in FLAC and MP3, like a folder import of FLAC; its hash is checked',
    async () => {
      const spec: ReleaseSpec = {
        ...NEW_RELEASE,
        messageId: 'MSG-0007',
        icpn: LOSSLESS,
        title: 'Hover Lossless',
        tracks: [
          { isrc: 'GBKST2600021', title: 'Lossless One', format: 'flac' },
          { isrc: 'GBKST2600022', title: 'Lossless Two', format: 'flac' },
        ],
        deals: [{ retail: { amount: '8.99' } }],
      };
      // The same release with its second FLAC's hash wrong is refused first, changing nothing.
      const bad = writeNewRelease(path.join(batch('B007'), 'bad'), {
        ...spec,
        messageId: 'MSG-0007-BAD',
        tracks: [spec.tracks[0]!, { ...spec.tracks[1]!, badHash: true }],
      });
      completeBatch(batch('B007'));
      const before = await counts();
      expect((await ingester.ingestFolder(delivery)).outcomes.map((o) => o.status)).toEqual(['refused']);
      expect(ackOf(bad).releases[0]).toMatchObject({
        icpn: LOSSLESS,
        fileStatus: 'SignatureOrHashSumWrongOrMissing',
        affectedIsrc: 'GBKST2600022',
      });
      expect(await counts()).toEqual(before);

      const good = writeNewRelease(path.join(batch('B008'), LOSSLESS), spec);
      completeBatch(batch('B008'));
      expect((await ingester.ingestFolder(delivery)).outcomes.map((o) => [o.status, o.reason])).toEqual([['accepted', null]]);
      const row = await db().selectFrom('releases').select(['id', 'slug']).where('icpn', '=', LOSSLESS).executeTakeFirstOrThrow();
      const tracks = await db()
        .selectFrom('tracks')
        .select(['title', 'master_format', 'sample_rate', 'channels', 'media_file', 'file_bytes'])
        .where('release_id', '=', row.id)
        .orderBy('track_number')
        .execute();
      const delivered = [1, 2].map((n) => fs.readFileSync(path.join(path.dirname(good), 'resources', `${LOSSLESS}_${n}.flac`)));
      expect(tracks).toEqual(
        delivered.map((bytes, i) => ({
          title: spec.tracks[i]!.title,
          master_format: 'flac',
          sample_rate: 44100,
          channels: 2,
          // The master as delivered, under the key a folder import of the same file would use.
          media_file: keys.losslessMaster(createHash('sha256').update(bytes).digest('hex'), 'flac'),
          file_bytes: bytes.length,
        })),
      );
      const page = await new Shopper(store.baseUrl).get(`/release/${row.slug}`);
      const formats = page.html.querySelector('.release__formats')?.text ?? '';
      expect(formats).toContain('FLAC');
      expect(formats).toMatch(/MP3 (320|V0)/);
    },
  );

  it.skipIf(skip)(
    'a later message that drops a track takes it off the release page and search; its buyers keep downloading it',
    async () => {
      const trio: ReleaseSpec = {
        ...NEW_RELEASE,
        messageId: 'MSG-0009',
        icpn: TRIO,
        title: 'Trio Hover',
        tracks: [
          { isrc: 'GBKST2600031', title: 'Aster', frequency: 510 },
          { isrc: 'GBKST2600032', title: 'Quillwort', frequency: 530 },
          { isrc: 'GBKST2600033', title: 'Yarrow', frequency: 550 },
        ],
        deals: [{ retail: { amount: '4.99' } }],
      };
      writeNewRelease(path.join(batch('B009'), TRIO), trio);
      completeBatch(batch('B009'));
      await ingester.ingestFolder(delivery);
      const row = await db().selectFrom('releases').select(['id', 'slug']).where('icpn', '=', TRIO).executeTakeFirstOrThrow();
      const dropped = await db()
        .selectFrom('tracks')
        .select('id')
        .where('release_id', '=', row.id)
        .where('title', '=', 'Quillwort')
        .executeTakeFirstOrThrow();
      const visitor = new Shopper(store.baseUrl);
      const trackResults = async () => (await visitor.get('/search?q=Quillwort')).html.querySelector('#results-track');
      expect(await trackResults()).not.toBeNull();
      const { shopper: buyer } = await buyWithPayPal(store, 'trio-fan@buyers.example', { release: row });

      writeNewRelease(path.join(batch('B010'), TRIO), { ...trio, messageId: 'MSG-0010', tracks: [trio.tracks[0]!, trio.tracks[2]!] });
      completeBatch(batch('B010'));
      expect((await ingester.ingestFolder(delivery)).outcomes.map((o) => o.status)).toEqual(['accepted']);

      const page = await visitor.get(`/release/${row.slug}`);
      expect(page.status).toBe(200);
      expect(page.text).toContain('Aster');
      expect(page.text).toContain('Yarrow');
      expect(page.text).not.toContain('Quillwort');
      expect(await trackResults()).toBeNull();
      // The buyer still has it, and downloads it.
      const music = await buyer.get('/account/music');
      expect(music.text).toContain('Quillwort');
      const file = await fetch(`${store.baseUrl}/download/track/${dropped.id}`, { headers: { cookie: `sid=${buyer.cookie('sid')}` } });
      expect(file.status).toBe(200);
      expect((await file.arrayBuffer()).byteLength).toBeGreaterThan(0);
      // Someone buying the release now gets the two tracks it has now.
      await buyWithPayPal(store, 'late-fan@buyers.example', { release: row });
      const granted = await db()
        .selectFrom('entitlements')
        .innerJoin('customers', 'customers.id', 'entitlements.customer_id')
        .innerJoin('tracks', 'tracks.id', 'entitlements.track_id')
        .select('tracks.title')
        .where('customers.email', '=', 'late-fan@buyers.example')
        .orderBy('tracks.title')
        .execute();
      expect(granted.map((g) => g.title)).toEqual(['Aster', 'Yarrow']);
    },
  );

  it.skipIf(skip)('a TestMessage is checked and acknowledged but never applied', async () => {
    const icpn = '5099999000103';
    const message = writeNewRelease(path.join(batch('B011'), icpn), { ...NEW_RELEASE, messageId: 'MSG-TEST', icpn, test: true });
    completeBatch(batch('B011'));
    const before = await counts();
    expect((await ingester.ingestFolder(delivery)).outcomes.map((o) => [o.status, o.reason])).toEqual([
      ['unchanged', 'a TestMessage: checked, not applied'],
    ]);
    expect(ackOf(message).releases[0]).toMatchObject({ fileStatus: 'FileOK', messageId: 'MSG-TEST' });
    expect(await counts()).toEqual(before);
    expect(await db().selectFrom('releases').select('id').where('icpn', '=', icpn).executeTakeFirst()).toBeUndefined();
  });

  it.skipIf(skip)('the admin lists every ingestion with its outcome', async () => {
    const admin = await signInAsOperator(store);
    const page = await admin.get('/admin/labels/ingestions');
    expect(page.status).toBe(200);
    const statuses = page.html.querySelectorAll('#ingestions tbody tr').map((tr) => tr.getAttribute('data-status'));
    expect(statuses.filter((s) => s === 'accepted')).toHaveLength(7);
    expect(statuses.filter((s) => s === 'unchanged')).toHaveLength(2);
    expect(statuses.filter((s) => s === 'refused')).toHaveLength(7);
    expect(page.text).toContain('does not match its SHA-256 hash');
  });

  it.skipIf(skip)(
    'a release without a type of its own is an EP or a single by the tracks it has on sale: a withdrawn track does not count',
    async () => {
      const four: ReleaseSpec = {
        ...NEW_RELEASE,
        messageId: 'MSG-0011',
        icpn: UNTYPED,
        title: 'Untyped Hover',
        releaseType: 'Unknown',
        tracks: ['Burdock', 'Campion', 'Dock', 'Eyebright'].map((title, i) => ({
          isrc: `GBKST26000${41 + i}`,
          title,
          frequency: 610 + i * 20,
        })),
        deals: [{ retail: { amount: '3.99' } }],
      };
      writeNewRelease(path.join(batch('B021'), UNTYPED), four);
      completeBatch(batch('B021'));
      expect((await ingester.ingestFolder(delivery)).outcomes.map((o) => o.status)).toEqual(['accepted']);
      const kindOf = () => db().selectFrom('releases').select(['kind', 'slug']).where('icpn', '=', UNTYPED).executeTakeFirstOrThrow();
      expect((await kindOf()).kind).toBe('ep');

      // The update lists three of the four: the fourth is withdrawn, and three tracks on sale make a single.
      writeNewRelease(path.join(batch('B022'), UNTYPED), { ...four, messageId: 'MSG-0012', tracks: four.tracks.slice(0, 3) });
      completeBatch(batch('B022'));
      expect((await ingester.ingestFolder(delivery)).outcomes.map((o) => o.status)).toEqual(['accepted']);
      const { kind: kindNow, slug } = await kindOf();
      expect(kindNow).toBe('single');
      const page = await new Shopper(store.baseUrl).get(`/release/${slug}`);
      expect(page.html.querySelector('.release__kind')?.text).toBe('Single');
    },
  );

  it.skipIf(skip)(
    'a later message naming another label moves the release; a sale made before stays with the label it was sold for',
    async () => {
      const spec: ReleaseSpec = {
        ...NEW_RELEASE,
        messageId: 'MSG-0013',
        icpn: MOVING,
        title: 'Moving Hover',
        tracks: [{ isrc: 'GBKST2600051', title: 'Sedge', frequency: 720 }],
        deals: [{ retail: { amount: '2.49' } }],
      };
      writeNewRelease(path.join(batch('B023'), MOVING), spec);
      completeBatch(batch('B023'));
      await ingester.ingestFolder(delivery);
      const labelOfRelease = () =>
        db()
          .selectFrom('releases')
          .innerJoin('labels', 'labels.id', 'releases.label_id')
          .select(['releases.id', 'releases.slug', 'labels.id as labelId', 'labels.name'])
          .where('releases.icpn', '=', MOVING)
          .executeTakeFirstOrThrow();
      const before = await labelOfRelease();
      expect(before.name).toBe('Kestrel Music');
      await buyWithPayPal(store, 'moving-fan@buyers.example', { release: { id: before.id, slug: before.slug } });

      const osprey = { name: 'Osprey Audio', dpid: 'PADPIDA2026OSPREY' };
      writeNewRelease(path.join(batch('B024'), MOVING), { ...spec, messageId: 'MSG-0014', label: osprey });
      completeBatch(batch('B024'));
      expect((await ingester.ingestFolder(delivery)).outcomes.map((o) => o.status)).toEqual(['accepted']);
      const after = await labelOfRelease();
      expect(after.name).toBe('Osprey Audio');
      expect(after.labelId).not.toBe(before.labelId);

      // This month's statements: the sale is Kestrel's, and Osprey has nothing of it.
      const month = await monthStatements(db(), monthOf(new Date()));
      const linesFor = (labelId: number) =>
        month.statements.find((s) => s.label.id === labelId)?.lines.filter((l) => l.icpn === MOVING && l.productType === 'Release') ?? [];
      expect(linesFor(before.labelId)).toEqual([expect.objectContaining({ unitsSold: 1, unitsRefunded: 0, title: 'Moving Hover' })]);
      expect(linesFor(after.labelId)).toEqual([]);
      expect(month.reconciliation.balanced).toBe(true);
    },
  );
});
