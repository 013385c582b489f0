import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import { databaseKinds } from '../helpers/databases.js';
import { Shopper } from '../helpers/shopper.js';
import { signInCustomer } from '../helpers/sign-in.js';
import { buyWithPayPal } from '../helpers/purchase.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

/** Entry names and contents of a ZIP held in memory. */
function unzip(buffer: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buffer, { lazyEntries: true }, (error, zip) => {
      if (error || !zip) return reject(error ?? new Error('no zip file'));
      const entries = new Map<string, Buffer>();
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError || !stream) return reject(streamError ?? new Error('no entry stream'));
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            entries.set(entry.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
        });
      });
      zip.on('end', () => resolve(entries));
      zip.readEntry();
    });
  });
}

describe.each(databaseKinds())('accounts, confirmations, sign-in and downloads on $kind', ({ kind, skip }) => {
  let store: TestStore;
  let now = new Date('2026-11-20T12:00:00Z');
  let release: { id: number; slug: string; title: string };
  let otherTrack: { id: number };

  beforeAll(async () => {
    if (skip) return;
    store = await startTestStore(kind, { clock: () => now, env: { SIGN_IN_LIMIT_PER_CLIENT: '1000' } });
    const releases = await store.database.db.selectFrom('releases').select(['id', 'slug', 'title']).orderBy('id').limit(2).execute();
    release = releases[0]!;
    otherTrack = await store.database.db
      .selectFrom('tracks')
      .select('id')
      .where('release_id', '=', releases[1]!.id)
      .executeTakeFirstOrThrow();
  });
  afterAll(async () => store?.close());

  const db = () => store.database.db;
  const outboxFor = (recipient: string) => db().selectFrom('outbox').selectAll().where('recipient', '=', recipient).orderBy('id').execute();
  /** Buys the first release with PayPal as `email`; returns the shopper and the order reference. */
  const buy = async (email: string) => {
    const { shopper, orderPage } = await buyWithPayPal(store, email, { release });
    return { shopper, reference: orderPage.html.querySelector('.order-status strong')!.text };
  };
  const linkIn = (text: string) => /https?:\/\/\S+\/account\/link\/[A-Za-z0-9_-]{43}/.exec(text)![0];
  const codeIn = (text: string) => /\b(\d{6})\b/.exec(text)![1]!;

  it.skipIf(skip)(
    'queues one confirmation with login details in the paying transaction, and grants every track of the release',
    async () => {
      const { reference } = await buy('owner@example.com');
      const messages = await outboxFor('owner@example.com');
      expect(messages).toHaveLength(1);
      const [message] = messages;
      expect(message).toMatchObject({ channel: 'email', kind: 'transactional', status: 'pending' });
      expect(message!.subject).toContain(reference);
      expect(message!.body_text).toContain('Sign in with: owner@example.com');
      expect(message!.body_html).toContain(release.title);
      expect(linkIn(message!.body_text).startsWith(store.baseUrl)).toBe(true);
      const tracks = await db().selectFrom('tracks').select('id').where('release_id', '=', release.id).execute();
      const granted = await db()
        .selectFrom('entitlements')
        .innerJoin('customers', 'customers.id', 'entitlements.customer_id')
        .select('track_id')
        .where('customers.email', '=', 'owner@example.com')
        .execute();
      expect(granted.map((g) => g.track_id).sort()).toEqual(tracks.map((t) => t.id).sort());
    },
  );

  it.skipIf(skip)(
    'opens My music from the confirmation link, downloads a track with its name and resumes it, and a release as a ZIP',
    async () => {
      const [message] = await outboxFor('owner@example.com');
      const reader = new Shopper(store.baseUrl);
      const opened = await reader.get(linkIn(message!.body_text).replace(/^https?:\/\/[^/]+/, ''));
      expect(opened.location).toBe('/account/music');
      const music = await reader.get('/account/music');
      expect(music.html.querySelector('h2')!.text).toBe(release.title);
      const trackLink = music.html.querySelector('a[href^="/download/track/"]')!.getAttribute('href')!;

      const cookie = `sid=${reader.cookie('sid')}`;
      const full = await fetch(store.baseUrl + trackLink, { headers: { cookie } });
      expect(full.status).toBe(200);
      expect(full.headers.get('content-type')).toBe('audio/mpeg');
      expect(full.headers.get('content-disposition')).toMatch(/^attachment; filename="[^"/\\]+ - [^"/\\]+\.mp3"/);
      const bytes = Buffer.from(await full.arrayBuffer());
      const trackId = Number(trackLink.split('/').pop());
      const stored = await db().selectFrom('tracks').select('media_file').where('id', '=', trackId).executeTakeFirstOrThrow();
      expect(bytes).toEqual(fs.readFileSync(path.join(store.config.mediaDir, stored.media_file)));
      const rest = await fetch(store.baseUrl + trackLink, { headers: { cookie, range: `bytes=1000-` } });
      expect(rest.status).toBe(206);
      expect(Buffer.from(await rest.arrayBuffer())).toEqual(bytes.subarray(1000));
      expect((await fetch(store.baseUrl + trackLink, { headers: { cookie, range: `bytes=${bytes.length + 5}-` } })).status).toBe(416);
      expect((await fetch(store.baseUrl + trackLink, { headers: { cookie, range: 'bytes=banana' } })).status).toBe(200);

      const zip = await fetch(`${store.baseUrl}/download/release/${release.id}.zip`, { headers: { cookie } });
      expect(zip.status).toBe(200);
      expect(zip.headers.get('content-disposition')).toContain('.zip');
      const entries = await unzip(Buffer.from(await zip.arrayBuffer()));
      const trackCount = (await db().selectFrom('tracks').select('id').where('release_id', '=', release.id).execute()).length;
      const mp3s = [...entries.keys()].filter((n) => n.endsWith('.mp3'));
      expect(mp3s).toHaveLength(trackCount);
      expect(mp3s.every((n) => /^[^/]+ - [^/]+\/\d\d [^/]+\.mp3$/.test(n))).toBe(true);
      expect([...entries.keys()].some((n) => /\/cover\.(png|jpg)$/.test(n))).toBe(true);
      expect([...entries.values()]).toContainEqual(bytes);

      await store.app.downloadLog.flush();
      const logged = await db().selectFrom('downloads').select(['track_id', 'release_id']).execute();
      expect(logged.filter((l) => l.track_id === trackId)).toHaveLength(1); // the resumed request is not a second download
      expect(logged.filter((l) => l.release_id === release.id)).toHaveLength(1);
    },
  );

  it.skipIf(skip)("refuses downloads that are not the customer's, need sign-in, or were refunded; and path tricks", async () => {
    const [message] = await outboxFor('owner@example.com');
    const reader = new Shopper(store.baseUrl);
    await reader.get(linkIn(message!.body_text).replace(/^https?:\/\/[^/]+/, ''));
    const cookie = `sid=${reader.cookie('sid')}`;
    expect((await fetch(`${store.baseUrl}/download/track/${otherTrack.id}`, { headers: { cookie } })).status).toBe(404);
    expect((await fetch(`${store.baseUrl}/download/track/999999`, { headers: { cookie } })).status).toBe(404);
    for (const p of [
      '/download/track/..%2F..%2Fstore.sqlite',
      '/download/track/1%00',
      '/download/release/1',
      '/download/release/..%2Fx.zip',
    ]) {
      expect((await fetch(store.baseUrl + p, { headers: { cookie } })).status).toBe(404);
    }
    const anyOwned = await db().selectFrom('tracks').select('id').where('release_id', '=', release.id).executeTakeFirstOrThrow();
    expect((await fetch(`${store.baseUrl}/download/track/${anyOwned.id}`)).status).toBe(401);

    // A second buyer's order is refunded through PayPal: their downloads stop.
    const { reference } = await buy('refunded@example.com');
    const order = await db().selectFrom('orders').selectAll().where('reference', '=', reference).executeTakeFirstOrThrow();
    const payment = await db().selectFrom('payments').selectAll().where('order_id', '=', order.id).executeTakeFirstOrThrow();
    const [refundedMessage] = await outboxFor('refunded@example.com');
    const refunded = new Shopper(store.baseUrl);
    await refunded.get(linkIn(refundedMessage!.body_text).replace(/^https?:\/\/[^/]+/, ''));
    const refundedCookie = `sid=${refunded.cookie('sid')}`;
    expect((await fetch(`${store.baseUrl}/download/track/${anyOwned.id}`, { headers: { cookie: refundedCookie } })).status).toBe(200);
    await store.app.methods
      .find((m) => m.id === 'paypal')!
      .refund({ providerRef: payment.provider_ref, captureRef: payment.capture_ref, amountPence: order.total_pence });
    expect((await fetch(`${store.baseUrl}/download/track/${anyOwned.id}`, { headers: { cookie: refundedCookie } })).status).toBe(404);
    expect((await fetch(`${store.baseUrl}/download/release/${release.id}.zip`, { headers: { cookie: refundedCookie } })).status).toBe(404);
    // The first owner still has theirs.
    expect((await fetch(`${store.baseUrl}/download/track/${anyOwned.id}`, { headers: { cookie } })).status).toBe(200);
  });

  it.skipIf(skip)('signs in with a one-time code: same answer for strangers, single use, limited tries, and a new session id', async () => {
    const shopper = new Shopper(store.baseUrl);
    await shopper.get('/account');
    const before = (await outboxFor('owner@example.com')).length;
    const asked = await shopper.post('/account/sign-in', { contact: ' Owner@Example.com ' });
    expect(asked.location).toBe('/account/code');
    const stranger = new Shopper(store.baseUrl);
    await stranger.get('/account');
    const strangerAsked = await stranger.post('/account/sign-in', { contact: 'nobody@example.com' });
    expect(strangerAsked.location).toBe('/account/code');
    expect((await stranger.get('/account/code')).html.querySelector('h1')!.text).toBe(
      (await shopper.get('/account/code')).html.querySelector('h1')!.text,
    );
    expect(await outboxFor('nobody@example.com')).toHaveLength(0);

    const messages = await outboxFor('owner@example.com');
    expect(messages).toHaveLength(before + 1);
    const code = codeIn(messages.at(-1)!.body_text);
    const wrong = code === '000000' ? '111111' : '000000';
    const sessionBefore = shopper.cookie('sid');
    expect((await shopper.post('/account/code', { code: wrong })).status).toBe(400);
    const signedIn = await shopper.post('/account/code', { code });
    expect(signedIn.location).toBe('/account/music');
    expect(shopper.cookie('sid')).not.toBe(sessionBefore);
    expect((await shopper.get('/account/music')).status).toBe(200);

    // Used once only.
    const again = new Shopper(store.baseUrl);
    await again.get('/account');
    await again.post('/account/sign-in', { contact: 'owner@example.com' });
    await again.get('/account/code');
    expect((await again.post('/account/code', { code })).status).toBe(400);
  });

  it.skipIf(skip)(
    'locks a code after five wrong tries, expires it after ten minutes, and never accepts it for another contact',
    async () => {
      const other = await buy('second@example.com');
      expect(other.reference).toMatch(/^NL-/);
      const attacker = new Shopper(store.baseUrl);
      await attacker.get('/account');
      await attacker.post('/account/sign-in', { contact: 'second@example.com' });
      const secondCode = codeIn((await outboxFor('second@example.com')).at(-1)!.body_text);
      // A code sent to second@ typed while signing in as owner@: refused.
      const crossed = new Shopper(store.baseUrl);
      await crossed.get('/account');
      await crossed.post('/account/sign-in', { contact: 'owner@example.com' });
      await crossed.get('/account/code');
      expect((await crossed.post('/account/code', { code: secondCode })).status).toBe(400);

      await attacker.get('/account/code');
      for (let i = 0; i < 5; i++) {
        const guess = String(i).padStart(6, '9');
        if (guess !== secondCode) expect((await attacker.post('/account/code', { code: guess })).status).toBe(400);
      }
      const locked = await attacker.post('/account/code', { code: secondCode });
      expect(locked.status).toBe(400);
      expect(locked.text).toContain('Too many wrong tries');

      const late = new Shopper(store.baseUrl);
      await late.get('/account');
      await late.post('/account/sign-in', { contact: 'second@example.com' });
      const lateCode = codeIn((await outboxFor('second@example.com')).at(-1)!.body_text);
      now = new Date(now.getTime() + 11 * 60_000);
      await late.get('/account/code');
      const expired = await late.post('/account/code', { code: lateCode });
      expect(expired.text).toContain('expired');
    },
  );

  it.skipIf(skip)('sends at most three codes per contact in fifteen minutes, answering the same way', async () => {
    now = new Date(now.getTime() + 60 * 60_000);
    const before = (await outboxFor('owner@example.com')).length;
    for (let i = 0; i < 5; i++) {
      const shopper = new Shopper(store.baseUrl);
      await shopper.get('/account');
      expect((await shopper.post('/account/sign-in', { contact: 'owner@example.com' })).location).toBe('/account/code');
    }
    expect((await outboxFor('owner@example.com')).length - before).toBe(3);
  });

  it.skipIf(skip)('says so when a sign-in link is tampered with or expired, and offers sign-in', async () => {
    const [message] = await outboxFor('owner@example.com');
    const link = linkIn(message!.body_text).replace(/^https?:\/\/[^/]+/, '');
    const tampered = await new Shopper(store.baseUrl).get(link.slice(0, -2) + (link.endsWith('AA') ? 'BB' : 'AA'));
    expect(tampered.status).toBe(400);
    expect(tampered.text).toContain('expired, been used up, or is not complete');
    expect(tampered.html.querySelector('form[action="/account/sign-in"]')).not.toBeNull();
    now = new Date(now.getTime() + 25 * 3600_000);
    expect((await new Shopper(store.baseUrl).get(link)).status).toBe(400);
  });

  /** Signs in with a code read from the outbox; returns the signed-in shopper. */
  const signInWithCode = async (contact: string) => (await signInCustomer(store, contact)).shopper;

  it.skipIf(skip)('tells a signed-in customer what in the basket they already own', async () => {
    now = new Date(now.getTime() + 60 * 60_000);
    const shopper = await signInWithCode('owner@example.com');
    await shopper.get(`/release/${release.slug}`);
    await shopper.post('/basket/add', { kind: 'release', id: String(release.id) });
    await shopper.get(`/release/${release.slug}`);
    await shopper.post('/basket/add', { kind: 'track', id: String(otherTrack.id) });
    const rows = (await shopper.get('/basket')).html.querySelectorAll('table.basket tbody tr');
    const ownedNotes = rows.map((r) => r.text.includes('You already own this'));
    expect(ownedNotes).toEqual([true, false]);
  });

  it.skipIf(skip)('signs a customer out after an hour idle or twelve hours in all, keeping the basket', async () => {
    now = new Date(now.getTime() + 60 * 60_000);
    const idle = await signInWithCode('owner@example.com');
    now = new Date(now.getTime() + 61 * 60_000);
    // The first page after the idle hour says why the customer is signed out.
    expect((await idle.get('/account')).text).toContain('You were signed out after a while without activity');
    expect((await idle.get('/account/music')).location).toBe('/account');

    now = new Date(now.getTime() + 60 * 60_000);
    const busy = await signInWithCode('owner@example.com');
    for (let i = 0; i < 14; i++) {
      now = new Date(now.getTime() + 55 * 60_000);
      const page = await busy.get('/account/music');
      if (i < 13)
        expect(page.status).toBe(200); // 13 x 55 min: still inside twelve hours
      else expect(page.location).toBe('/account');
    }
  });

  it.skipIf(skip)("refuses sign-in forms posted without the page's CSRF token", async () => {
    const shopper = new Shopper(store.baseUrl);
    await shopper.get('/account');
    await shopper.post('/account/sign-in', { contact: 'owner@example.com' });
    expect((await shopper.post('/account/code', { code: '123456', _csrf: 'forged' })).status).toBe(403);
    expect((await shopper.post('/account/sign-in', { contact: 'owner@example.com', _csrf: 'forged' })).status).toBe(403);
    expect((await shopper.post('/account/sign-out', { _csrf: 'forged' })).status).toBe(403);
  });
});

describe.each(databaseKinds())('sign-in limits per client on $kind', ({ kind, skip }) => {
  it.skipIf(skip)('answers 429 with a clear message once one client has asked too often', async () => {
    const store = await startTestStore(kind, { env: { SIGN_IN_LIMIT_PER_CLIENT: '2' }, stock: false });
    try {
      const statuses = [];
      for (let i = 0; i < 3; i++) {
        const shopper = new Shopper(store.baseUrl);
        await shopper.get('/account');
        const answer = await shopper.post('/account/sign-in', { contact: `someone${i}@example.com` });
        statuses.push(answer.status);
        if (answer.status === 429) expect(answer.text).toContain('Too many tries');
      }
      expect(statuses).toEqual([303, 303, 429]);
    } finally {
      await store.close();
    }
  });
});
