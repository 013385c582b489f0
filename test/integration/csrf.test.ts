import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addAffiliate } from '../../src/affiliates/repository.js';
import { toDbTime } from '../../src/db/dialect.js';
import { COVER_PATH, IMPORT_PATH } from '../../src/admin/catalogue/uploads.js';
import { appRoutesOf, fillPath, signInAsOperator } from '../helpers/admin.js';
import { databaseKinds } from '../helpers/databases.js';
import { signInAffiliate, signInCustomer } from '../helpers/sign-in.js';
import { Shopper } from '../helpers/shopper.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

describe.each(databaseKinds())('CSRF tokens on $kind', ({ kind, skip }) => {
  let store: TestStore;
  let slug: string;
  let trackId: string;
  const now = new Date('2026-11-20T12:00:00Z');

  beforeAll(async () => {
    if (skip) return;
    store = await startTestStore(kind, { clock: () => now });
    const track = await store.database.db
      .selectFrom('tracks')
      .innerJoin('releases', 'releases.id', 'tracks.release_id')
      .select(['tracks.id', 'releases.slug'])
      .executeTakeFirstOrThrow();
    slug = track.slug;
    trackId = String(track.id);
  });
  afterAll(async () => store?.close());

  const sessionCount = async () =>
    Number(
      (
        await store.database.db
          .selectFrom('sessions')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const tokenOn = (page: { html: { querySelector(s: string): { getAttribute(a: string): string | undefined } | null } }) =>
    page.html.querySelector('input[name="_csrf"]')!.getAttribute('value')!;

  it.skipIf(skip)('renders forms for a first-time visitor without creating a session, and accepts the first add', async () => {
    const before = await sessionCount();
    const shopper = new Shopper(store.baseUrl);
    const page = await shopper.get(`/release/${slug}`);
    expect(tokenOn(page)).toMatch(/^v\./);
    // The token is bound to this visitor by a cookie of its own (listed in the privacy policy), not by a session.
    expect(shopper.cookie('csrf')).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(shopper.cookie('sid')).toBeUndefined();
    expect(await sessionCount()).toBe(before);
    const added = await shopper.post('/basket/add', { kind: 'track', id: trackId });
    expect(added.status).toBe(303);
    expect(shopper.cookie('sid')).toBeDefined();
    // The session was saved with a token of its own; a form this browser was given before its basket
    // began (another tab) still works, bound by the browser's own csrf cookie. A signed-in session
    // takes its own token only (the replays below).
    expect((await shopper.post('/basket/add', { kind: 'track', id: trackId, _csrf: tokenOn(page) })).status).toBe(303);
    const stranger = new Shopper(store.baseUrl);
    await stranger.get(`/release/${slug}`);
    stranger.setCookie('sid', shopper.cookie('sid')!);
    expect((await stranger.post('/basket/add', { kind: 'track', id: trackId, _csrf: tokenOn(page) })).status).toBe(403);
    const next = await shopper.get(`/release/${slug}`);
    expect(tokenOn(next)).not.toMatch(/^v\./);
    expect((await shopper.post('/basket/add', { kind: 'track', id: trackId })).status).toBe(303);
  });

  it.skipIf(skip)(
    "binds a visitor token to its visitor: useless with another visitor's cookie, without the cookie, or tampered",
    async () => {
      const visitor = new Shopper(store.baseUrl);
      const token = tokenOn(await visitor.get(`/release/${slug}`));
      const other = new Shopper(store.baseUrl);
      await other.get(`/release/${slug}`);
      const before = await sessionCount();
      // The other visitor's own cookie with this visitor's token.
      expect((await other.post('/basket/add', { kind: 'track', id: trackId, _csrf: token })).status).toBe(403);
      // No cookie at all, a tampered token, an empty or missing one.
      const fresh = () => new Shopper(store.baseUrl);
      expect((await fresh().post('/basket/add', { kind: 'track', id: trackId, _csrf: token })).status).toBe(403);
      const withCookie = fresh();
      withCookie.setCookie('csrf', visitor.cookie('csrf')!);
      expect((await withCookie.post('/basket/add', { kind: 'track', id: trackId, _csrf: `${token.slice(0, -2)}AA` })).status).toBe(403);
      expect((await withCookie.post('/basket/add', { kind: 'track', id: trackId, _csrf: '' })).status).toBe(403);
      expect((await withCookie.post('/basket/add', { kind: 'track', id: trackId })).status).toBe(403);
      expect(await sessionCount()).toBe(before);
      // The visitor's own token with their own cookie works, for their basket session too.
      expect((await visitor.post('/basket/add', { kind: 'track', id: trackId, _csrf: token })).status).toBe(303);
      expect((await visitor.post('/basket/add', { kind: 'track', id: trackId, _csrf: token })).status).toBe(303);
    },
  );

  it.skipIf(skip)('refuses a cross-site post even with the right token: by Fetch Metadata, else by Origin', async () => {
    const shopper = new Shopper(store.baseUrl);
    await shopper.get(`/release/${slug}`);
    await shopper.post('/basket/add', { kind: 'track', id: trackId });
    const token = tokenOn(await shopper.get('/basket'));
    const post = (headers: Record<string, string>) =>
      fetch(`${store.baseUrl}/basket/remove`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `sid=${shopper.cookie('sid')}`, ...headers },
        body: new URLSearchParams({ kind: 'track', id: trackId, _csrf: token }),
      });
    expect((await post({ 'sec-fetch-site': 'cross-site', origin: store.baseUrl })).status).toBe(403);
    expect((await post({ origin: 'https://evil.example' })).status).toBe(403);
    expect((await post({ origin: 'null' })).status).toBe(403);
    expect((await shopper.get('/basket')).html.querySelectorAll('.basket tbody tr').length).toBeGreaterThan(0);
    // The same request from our own page goes through.
    expect((await post({ 'sec-fetch-site': 'same-origin', origin: store.baseUrl })).status).toBe(303);
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

/**
 * The requests of issue 13, replayed: a session's cookie riding on a token another visitor was
 * given (the attacker's own, with the attacker's own cookie), from another site and from a sibling
 * site. Before the fix the first request after sign-in took the shared visitor token.
 */
describe.each(databaseKinds())('forged requests riding on a session on $kind', ({ kind, skip }) => {
  let store: TestStore;
  let attacker: { cookie: string; token: string };

  beforeAll(async () => {
    if (skip) return;
    store = await startTestStore(kind, { stock: false, env: { SIGN_IN_LIMIT_PER_CLIENT: '1000' } });
    const visitor = new Shopper(store.baseUrl);
    const page = await visitor.get('/account');
    attacker = { cookie: visitor.cookie('csrf')!, token: page.html.querySelector('input[name="_csrf"]')!.getAttribute('value')! };
  });
  afterAll(async () => store?.close());

  const db = () => store.database.db;
  const UPLOAD_PATHS = [IMPORT_PATH, COVER_PATH];
  const SITES: Record<string, string>[] = [
    { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
    { 'sec-fetch-site': 'same-site', origin: 'https://evil.example' },
    { origin: 'https://evil.example' },
  ];
  const forge = (victim: Shopper, path: string, form: Record<string, string>, headers: Record<string, string>, token = attacker.token) =>
    fetch(`${store.baseUrl}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        cookie: `sid=${victim.cookie('sid')}; csrf=${attacker.cookie}`,
        ...headers,
      },
      body: new URLSearchParams({ _csrf: token, ...form }),
    });

  it.skipIf(skip)("POST /admin/affiliates with a just-signed-in operator's cookie: 403, no affiliate, nothing audited", async () => {
    for (const headers of [...SITES, { 'sec-fetch-site': 'same-origin', origin: store.baseUrl }]) {
      const operator = await signInAsOperator(store);
      const before = await db().selectFrom('affiliates').select('id').execute();
      const forged = await forge(
        operator,
        '/admin/affiliates',
        { name: 'Evil', email: 'evil@evil.example', kind: 'percent', value: '90' },
        headers,
      );
      expect(forged.status).toBe(403);
      expect(await db().selectFrom('affiliates').select('id').execute()).toEqual(before);
      expect(await db().selectFrom('admin_audit').select('id').where('action', 'like', 'affiliate%').execute()).toEqual([]);
    }
  });

  it.skipIf(skip)("a signed-in customer's preferences: 403 and the choice unchanged", async () => {
    const email = `victim-${Math.random().toString(36).slice(2)}@example.com`;
    const at = toDbTime(new Date());
    await db()
      .insertInto('customers')
      .values({ email, msisdn: null, marketing_opt_in: 0, marketing_choice_at: null, created_at: at, updated_at: at })
      .execute();
    for (const headers of [...SITES, { 'sec-fetch-site': 'same-origin', origin: store.baseUrl }]) {
      const { shopper } = await signInCustomer(store, email, new Shopper(store.baseUrl));
      expect((await forge(shopper, '/account/preferences', { marketing: 'yes' }, headers)).status).toBe(403);
      const row = await db()
        .selectFrom('customers')
        .select(['marketing_opt_in', 'marketing_choice_at'])
        .where('email', '=', email)
        .executeTakeFirstOrThrow();
      expect(row).toEqual({ marketing_opt_in: 0, marketing_choice_at: null });
      // Still signed in, and the customer's own form works.
      const page = await shopper.get('/account/preferences');
      expect(page.status).toBe(200);
      await db().deleteFrom('sign_in_codes').execute();
    }
  });

  it.skipIf(skip)("an affiliate's sign-out: 403 from another site and from a sibling site, and still signed in", async () => {
    const email = `partner-${Math.random().toString(36).slice(2)}@affiliates.example`;
    await addAffiliate(db(), { name: 'Partner', email, rateBasisPoints: 2000, flatPence: null }, new Date());
    const affiliate = await signInAffiliate(store, email);
    for (const headers of [...SITES, { 'sec-fetch-site': 'same-origin', origin: store.baseUrl }]) {
      expect((await forge(affiliate, '/affiliate/sign-out', {}, headers)).status).toBe(403);
      expect((await affiliate.get('/affiliate')).status).toBe(200);
    }
  });

  it.skipIf(skip)(
    "every POST route behind sessions refuses another visitor's token and any cross-site post; only routes that prove their sender come before",
    async () => {
      const routes = appRoutesOf(store).filter((r) => r.method === 'post');
      expect(
        routes
          .filter((r) => r.beforeSessions)
          .map((r) => r.path)
          .sort(),
      ).toEqual(['/notifications/payforit', '/unsubscribe/:token', '/webhooks/paypal']);
      const operator = await signInAsOperator(store);
      const ownToken = (await operator.get('/admin')).html.querySelector('input[name="_csrf"]')!.getAttribute('value')!;
      const guarded = routes.filter((r) => !r.beforeSessions);
      expect(guarded.length).toBeGreaterThan(20);
      for (const route of guarded) {
        const path = fillPath(route.path);
        // With a session: the visitor token of someone else, even from our own origin.
        expect({
          path,
          status: (await forge(operator, path, {}, { 'sec-fetch-site': 'same-origin', origin: store.baseUrl })).status,
        }).toEqual({ path, status: 403 });
        // The session's own token, sent from another site.
        expect({ path, status: (await forge(operator, path, {}, { 'sec-fetch-site': 'cross-site' }, ownToken)).status }).toEqual({
          path,
          status: 403,
        });
        expect({ path, status: (await forge(operator, path, {}, { origin: 'https://evil.example' }, ownToken)).status }).toEqual({
          path,
          status: 403,
        });
        // Without a session: a token made for another visitor.
        const stranger = await fetch(`${store.baseUrl}${path}`, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: 'csrf=AAAAAAAAAAAAAAAAAAAAAA' },
          body: new URLSearchParams({ _csrf: attacker.token }),
        });
        // (An operator's upload answers 404 before reading the file to anyone without an operator session.)
        expect({ path, status: stranger.status }).toEqual({ path, status: UPLOAD_PATHS.includes(route.path) ? 404 : 403 });
      }
      expect((await operator.get('/admin')).status).toBe(200);
    },
  );
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
