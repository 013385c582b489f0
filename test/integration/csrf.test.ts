import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from '../helpers/databases.js';
import { Shopper } from '../helpers/shopper.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

describe.each(databaseKinds())('CSRF tokens on $kind', ({ kind, skip }) => {
  let store: TestStore;
  let slug: string;
  let trackId: string;
  let now = new Date('2026-11-20T12:00:00Z');

  beforeAll(async () => {
    if (skip) return;
    store = await startTestStore(kind, { clock: () => now });
    const track = await store.database.db.selectFrom('tracks').innerJoin('releases', 'releases.id', 'tracks.release_id').select(['tracks.id', 'releases.slug']).executeTakeFirstOrThrow();
    slug = track.slug;
    trackId = String(track.id);
  });
  afterAll(async () => store?.close());

  const sessionCount = async () => Number((await store.database.db.selectFrom('sessions').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  const tokenOn = (page: { html: { querySelector(s: string): { getAttribute(a: string): string | undefined } | null } }) => page.html.querySelector('input[name="_csrf"]')!.getAttribute('value')!;

  it.skipIf(skip)('renders forms for a first-time visitor without creating a session, and accepts the first add', async () => {
    const before = await sessionCount();
    const shopper = new Shopper(store.baseUrl);
    const page = await shopper.get(`/release/${slug}`);
    expect(tokenOn(page)).toMatch(/^a\.\d+\./);
    expect(shopper.cookie('sid')).toBeUndefined();
    expect(await sessionCount()).toBe(before);
    const added = await shopper.post('/basket/add', { kind: 'track', id: trackId });
    expect(added.status).toBe(303);
    expect(shopper.cookie('sid')).toBeDefined();
    // From now on the session's own token is in the forms, and required.
    const next = await shopper.get(`/release/${slug}`);
    expect(tokenOn(next)).not.toMatch(/^a\./);
  });

  it.skipIf(skip)('takes a visitor token with a session only from our own pages; refuses tampered, expired and missing ones', async () => {
    const visitor = new Shopper(store.baseUrl);
    const anonymousToken = tokenOn(await visitor.get(`/release/${slug}`));
    await visitor.post('/basket/add', { kind: 'track', id: trackId });
    // A second tab opened before the session began: same origin, still works.
    expect((await visitor.post('/basket/add', { kind: 'track', id: trackId, _csrf: anonymousToken })).status).toBe(303);
    // The same token posted from another site, riding on the session cookie: refused.
    const sid = visitor.cookie('sid')!;
    const forged = await fetch(`${store.baseUrl}/basket/add`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `sid=${sid}`, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      body: new URLSearchParams({ kind: 'track', id: trackId, _csrf: anonymousToken }),
    });
    expect(forged.status).toBe(403);

    const fresh = () => new Shopper(store.baseUrl);
    const [kindPart, expires, signature] = anonymousToken.split('.');
    expect((await fresh().post('/basket/add', { kind: 'track', id: trackId, _csrf: `${kindPart}.${Number(expires) + 3600}.${signature}` })).status).toBe(403);
    expect((await fresh().post('/basket/add', { kind: 'track', id: trackId, _csrf: '' })).status).toBe(403);
    expect((await fresh().post('/basket/add', { kind: 'track', id: trackId })).status).toBe(403);
    now = new Date(now.getTime() + 5 * 3600 * 1000);
    expect((await fresh().post('/basket/add', { kind: 'track', id: trackId, _csrf: anonymousToken })).status).toBe(403);
  });

  it.skipIf(skip)('requires the session token on every state-changing form', async () => {
    const shopper = new Shopper(store.baseUrl);
    await shopper.get(`/release/${slug}`);
    await shopper.post('/basket/add', { kind: 'track', id: trackId });
    await shopper.get('/basket');
    for (const [path, form] of [
      ['/basket/remove', { kind: 'track', id: trackId }],
      ['/checkout', { method: 'paypal', adult: 'yes' }],
      ['/basket/add', { kind: 'track', id: trackId }],
    ] as const) {
      expect((await shopper.post(path, { ...form, _csrf: 'wrong' })).status).toBe(403);
    }
  });
});

describe.each(databaseKinds())('one-time messages on $kind', ({ kind, skip }) => {
  it.skipIf(skip)('are not swallowed by a cover image fetched between the redirect and the page', async () => {
    const store = await startTestStore(kind);
    try {
      const release = await store.database.db.selectFrom('releases').select(['id', 'slug']).orderBy('id').executeTakeFirstOrThrow();
      const shopper = new Shopper(store.baseUrl);
      await shopper.get(`/release/${release.slug}`);
      await shopper.post('/basket/add', { kind: 'release', id: String(release.id) });
      await shopper.get(`/release/${release.slug}`);
      await shopper.post('/basket/add', { kind: 'release', id: String(release.id) });
      expect((await shopper.get(`/cover/${release.id}`)).status).toBe(200);
      const page = await shopper.get(`/release/${release.slug}`);
      expect(page.html.querySelector('.flash')?.text).toContain('already in your basket');
    } finally {
      await store.close();
    }
  });
});
