import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addAffiliate } from '../../src/affiliates/repository.js';
import { storeCookies } from '../../src/privacy/cookies.js';
import { databaseKinds } from '../helpers/databases.js';
import { Shopper } from '../helpers/shopper.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

const PRIVACY_ENV = {
  COMPANY_NAME: 'Aurora Records Ltd',
  INFO_OFFICER_NAME: 'Ingrid Officer',
  INFO_OFFICER_EMAIL: 'officer@aurora.example',
  DATA_HOSTING: 'on servers in Manchester, UK',
  CONTACT_LIMIT_PER_CLIENT: '3',
  SIGN_IN_LIMIT_PER_CLIENT: '1000',
};

describe.each(databaseKinds())('privacy policy and contact form on $kind', ({ kind, skip }) => {
  let store: TestStore;

  beforeAll(async () => {
    if (skip) return;
    store = await startTestStore(kind, { stock: false, env: { ...PRIVACY_ENV, AFFILIATE_COOKIE_DAYS: '45' } });
  });
  afterAll(async () => store?.close());

  it.skipIf(skip)('renders the policy from configuration, with the cookie list from code', async () => {
    const page = await new Shopper(store.baseUrl).get('/privacy');
    expect(page.status).toBe(200);
    expect(page.html.querySelector('.company-name')!.text).toBe('Aurora Records Ltd');
    expect(page.html.querySelector('.officer-name')!.text).toBe('Ingrid Officer');
    expect(page.html.querySelector('.officer-email')!.text).toBe('officer@aurora.example');
    expect(page.html.querySelector('.data-hosting')!.text).toBe('on servers in Manchester, UK');
    expect(page.html.querySelector('.payment-providers')!.text).toMatch(/PayPal[\s\S]*Mobile billing/);
    const rows = page.html.querySelectorAll('.cookie-list tbody tr');
    expect(rows.map((r) => r.getAttribute('data-cookie'))).toEqual(storeCookies(store.config).map((c) => c.name));
    expect(rows.map((r) => r.getAttribute('data-cookie'))).toEqual(['sid', 'csrf', 'a']);
    const affiliateRow = rows.find((r) => r.getAttribute('data-cookie') === 'a')!;
    expect(affiliateRow.text).toContain('45 days');
    expect(affiliateRow.text).toMatch(/digits/);
    // No banner: nothing here waits for consent.
    expect(page.html.querySelector('.consent-banner')).toBeNull();
    expect(page.html.querySelector('a[href="/privacy"]')).not.toBeNull();
  });

  it.skipIf(skip)('queues the contact message to the information officer and confirms it', async () => {
    const shopper = new Shopper(store.baseUrl);
    const form = await shopper.get('/contact');
    expect(form.status).toBe(200);
    expect(form.html.querySelector('form[action="/contact"] input[name="_csrf"]')).not.toBeNull();
    expect(form.text).toContain('Ingrid Officer');
    const sent = await shopper.post('/contact', { contact: 'Fan@Example.com', message: 'Please tell me what you hold about me.' });
    expect(sent.status).toBe(200);
    expect(sent.html.querySelector('.contact-sent h1')!.text).toMatch(/message is on its way/);
    const rows = await store.database.db.selectFrom('outbox').selectAll().where('recipient', '=', 'officer@aurora.example').execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.kind).toBe('transactional');
    expect(rows[0]!.channel).toBe('email');
    expect(rows[0]!.body_text).toContain('fan@example.com');
    expect(rows[0]!.body_text).toContain('Please tell me what you hold about me.');
  });

  it.skipIf(skip)('answers bad input with a 400 and a message, a missing token with 403, and too many messages with 429', async () => {
    const shopper = new Shopper(store.baseUrl);
    await shopper.get('/contact');
    const badContact = await shopper.post('/contact', { contact: 'not a contact', message: 'hello' });
    expect(badContact.status).toBe(400);
    expect(badContact.html.querySelector('[role="alert"]')!.text).toMatch(/email address or UK mobile number/);
    const empty = await shopper.post('/contact', { contact: 'a@example.com', message: '   ' });
    expect(empty.status).toBe(400);
    expect(empty.html.querySelector('[role="alert"]')!.text).toMatch(/write your message/);

    const forged = await fetch(`${store.baseUrl}/contact`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'contact=a%40example.com&message=hi',
    });
    expect(forged.status).toBe(403);

    // The limit is 3 per hour per client, and this client has posted three times above (forms count too).
    const limited = await shopper.post('/contact', { contact: 'a@example.com', message: 'again' });
    expect(limited.status).toBe(429);
    const count = await store.database.db
      .selectFrom('outbox')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('recipient', '=', 'officer@aurora.example')
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(1);
  });
});

describe.each(databaseKinds())('cookie consent on $kind', ({ kind, skip }) => {
  let store: TestStore;
  let affiliateId: number;

  beforeAll(async () => {
    if (skip) return;
    store = await startTestStore(kind, { stock: false, env: { AFFILIATE_COOKIE_CONSENT: 'required' } });
    affiliateId = await addAffiliate(
      store.database.db,
      { name: 'Consent', email: 'consent@affiliates.example', rateBasisPoints: 1000, flatPence: null },
      new Date(),
    );
  });
  afterAll(async () => store?.close());

  it.skipIf(skip)('shows the banner until the visitor chooses, and sets the affiliate cookie only after accepting', async () => {
    const shopper = new Shopper(store.baseUrl);
    const landing = await shopper.get(`/privacy?a=${affiliateId}`);
    expect(landing.status).toBe(302);
    expect(shopper.cookie('a')).toBeUndefined();
    const before = await shopper.get('/privacy');
    expect(before.html.querySelector('.consent-banner form[action="/consent"] input[name="_csrf"]')).not.toBeNull();
    expect(before.html.querySelector('.consent-banner input[name="back"]')!.getAttribute('value')).toBe('/privacy');
    expect(before.html.querySelectorAll('.cookie-list tbody tr').map((r) => r.getAttribute('data-cookie'))).toEqual([
      'sid',
      'csrf',
      'a',
      'consent',
    ]);
    expect(before.html.querySelector('a[href="/cookies"]')).not.toBeNull();

    const accepted = await shopper.post('/consent', { choice: 'accept', back: '/privacy' });
    expect(accepted.status).toBe(303);
    expect(accepted.location).toBe('/privacy');
    expect(shopper.cookie('consent')).toBe('yes');
    // Answering the banner starts no session.
    expect(shopper.cookie('sid')).toBeUndefined();
    const after = await shopper.get('/privacy');
    expect(after.html.querySelector('.consent-banner')).toBeNull();
    // Accepting without a referral on the page credits nobody.
    expect(shopper.cookie('a')).toBeUndefined();

    await shopper.get(`/privacy?a=${affiliateId}`);
    expect(shopper.cookie('a')).toBe(String(affiliateId));

    const declined = await shopper.post('/consent', { choice: 'decline', back: '/cookies' });
    expect(declined.location).toBe('/cookies');
    expect(shopper.cookie('consent')).toBe('no');
    expect((await shopper.get('/cookies')).text).toMatch(/You have declined/);
  });

  it.skipIf(skip)('with the privacy settings left unset (never in production), the policy invents no company or officer', async () => {
    const page = await new Shopper(store.baseUrl).get('/privacy');
    const text = page.html.querySelector('.privacy-policy')!.text;
    expect(text).not.toContain('is run by');
    expect(text).not.toContain('The information officer');
    expect(text).toContain(`Write to our information officer at ${store.config.privacy.infoOfficerEmail}`);
    expect(page.html.querySelector('.company-name')).toBeNull();
  });

  it.skipIf(skip)(
    'holds a referral in the address until the visitor answers: Accept credits it, Decline drops it, a made-up number credits nobody',
    async () => {
      const visitor = new Shopper(store.baseUrl);
      const landing = await visitor.get(`/privacy?a=${affiliateId}&x=1`);
      expect(landing.location).toBe(`/privacy?x=1&referral=${affiliateId}`);
      const page = await visitor.get(landing.location!);
      expect(page.html.querySelector('.consent-banner input[name="referral"]')!.getAttribute('value')).toBe(String(affiliateId));
      const accepted = await visitor.post('/consent', { choice: 'accept', back: landing.location!, referral: String(affiliateId) });
      // Back to the page, without the referral in its address.
      expect(accepted.location).toBe('/privacy?x=1');
      expect(visitor.cookie('a')).toBe(String(affiliateId));
      expect(visitor.cookie('consent')).toBe('yes');
      expect(visitor.cookie('sid')).toBeUndefined();

      const decliner = new Shopper(store.baseUrl);
      await decliner.get(`/privacy?referral=${affiliateId}`);
      await decliner.post('/consent', { choice: 'decline', back: '/privacy', referral: String(affiliateId) });
      expect(decliner.cookie('a')).toBeUndefined();
      expect(decliner.cookie('consent')).toBe('no');
      expect(decliner.cookie('sid')).toBeUndefined();
      // Once the visitor declined, a referral link is counted but held nowhere.
      expect((await decliner.get(`/privacy?a=${affiliateId}`)).location).toBe('/privacy');

      const forger = new Shopper(store.baseUrl);
      await forger.get('/privacy');
      await forger.post('/consent', { choice: 'accept', back: '/', referral: '999999' });
      expect(forger.cookie('a')).toBeUndefined();
    },
  );

  it.skipIf(skip)('sends the visitor back only to a path on this site, and refuses a forged choice', async () => {
    const shopper = new Shopper(store.baseUrl);
    await shopper.get('/privacy');
    for (const back of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)']) {
      const answer = await shopper.post('/consent', { choice: 'accept', back });
      expect(answer.status).toBe(303);
      expect(answer.location).toBe('/');
    }
    expect((await shopper.post('/consent', { choice: 'maybe' })).status).toBe(400);
    const forged = await fetch(`${store.baseUrl}/consent`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'choice=accept',
      redirect: 'manual',
    });
    expect(forged.status).toBe(403);
    expect(forged.headers.get('set-cookie') ?? '').not.toMatch(/consent=/);
  });
});

describe.each(databaseKinds())('analytics tag on $kind', ({ kind, skip }) => {
  let store: TestStore;
  let plain: TestStore;

  beforeAll(async () => {
    if (skip) return;
    store = await startTestStore(kind, { stock: false, env: { GA_MEASUREMENT_ID: 'G-TEST12345' } });
    plain = await startTestStore(kind, { stock: false });
  });
  afterAll(async () => {
    await store?.close();
    await plain?.close();
  });

  it.skipIf(skip)('serves the tag only after consent, from our own script file, with Google allowed by the CSP', async () => {
    const shopper = new Shopper(store.baseUrl);
    const before = await shopper.get('/');
    expect(before.html.querySelector('script[src="/static/js/analytics.js"]')).toBeNull();
    expect(before.text).not.toContain('G-TEST12345');
    expect(before.html.querySelector('.consent-banner')).not.toBeNull();
    const csp = (await fetch(`${store.baseUrl}/`)).headers.get('content-security-policy')!;
    expect(csp).toMatch(/script-src 'self' https:\/\/www\.googletagmanager\.com/);
    expect(csp).toMatch(/connect-src 'self' https:\/\/\*\.google-analytics\.com/);
    expect(csp).not.toContain('unsafe-inline');

    await shopper.post('/consent', { choice: 'decline', back: '/' });
    expect((await shopper.get('/')).html.querySelector('script[src="/static/js/analytics.js"]')).toBeNull();
    await shopper.post('/consent', { choice: 'accept', back: '/' });
    const after = await shopper.get('/');
    expect(after.html.querySelector('script[src="/static/js/analytics.js"]')!.getAttribute('data-measurement-id')).toBe('G-TEST12345');
    expect(after.html.querySelectorAll('script:not([src])')).toHaveLength(0);
    const policy = await shopper.get('/privacy');
    expect(policy.html.querySelectorAll('.cookie-list tbody tr').map((r) => r.getAttribute('data-cookie'))).toEqual([
      'sid',
      'csrf',
      'a',
      '_ga',
      '_ga_TEST12345',
      'consent',
    ]);
  });

  it.skipIf(skip)('has no banner, no tag and no Google host in the CSP when analytics is not configured', async () => {
    const page = await new Shopper(plain.baseUrl).get('/');
    expect(page.html.querySelector('.consent-banner')).toBeNull();
    expect(page.html.querySelector('script[src="/static/js/analytics.js"]')).toBeNull();
    const csp = (await fetch(`${plain.baseUrl}/`)).headers.get('content-security-policy')!;
    expect(csp).not.toContain('google');
  });
});
