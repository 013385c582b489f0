import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from '../helpers/databases.js';
import { payAtStandIn, waitFor } from '../helpers/payforit.js';
import { buyWithPayPal } from '../helpers/purchase.js';
import { Shopper } from '../helpers/shopper.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

/** As the payer typed it at PayPal, and as the store keeps it. */
const EMAIL_TYPED = 'Log.Watcher@Example.COM';
const EMAIL = 'log.watcher@example.com';
/** A mobile number as typed on the payment page, and its other common forms. */
const MOBILE_TYPED = '07700 900 731';
const MOBILE_FORMS = [
  '07700 900 731',
  '07700900731',
  '07700 900731',
  '447700900731',
  '+447700900731',
  '+44 7700 900731',
  '+44 (0)7700 900731',
  '7700 900731',
  '7700900731',
];

describe.each(databaseKinds())('no personal data in the logs on $kind', ({ kind, skip }) => {
  let store: TestStore;
  const lines: string[] = [];
  let release: { id: number; slug: string };

  beforeAll(async () => {
    if (skip) return;
    // Everything the store logs, at debug level, the outbox worker's lines included.
    store = await startTestStore(kind, { messaging: true, log: { level: 'debug', write: (line) => lines.push(line) } });
    release = await store.database.db.selectFrom('releases').select(['id', 'slug']).orderBy('id').executeTakeFirstOrThrow();
  });
  afterAll(async () => store?.close());

  const codeIn = (text: string) => /\b(\d{6})\b/.exec(text)![1]!;
  const smsTo = (to: string) => store.sms!.control.messages().filter((m) => m.to === to);

  /** A basket checked out to pay by mobile: the shopper and the intermediary's payment page. */
  const checkoutByMobile = async () => {
    const shopper = new Shopper(store.baseUrl);
    await shopper.get(`/release/${release.slug}`);
    await shopper.post('/basket/add', { kind: 'release', id: String(release.id) });
    await shopper.get('/checkout');
    const placed = await shopper.post('/checkout', { method: 'payforit', adult: 'yes', marketing: 'yes' });
    expect(placed.status).toBe(303);
    return { shopper, payUrl: placed.location! };
  };

  /** Asks for a code for `contact`, reads it from the message the worker delivered, and signs in with it. */
  const signInByCode = async (contact: string, delivered: () => Promise<string>) => {
    const shopper = new Shopper(store.baseUrl);
    await shopper.get('/account');
    expect((await shopper.post('/account/sign-in', { contact })).location).toBe('/account/code');
    await shopper.get('/account/code');
    const code = codeIn(await delivered());
    const wrong = code === '000000' ? '111111' : '000000';
    expect((await shopper.post('/account/code', { code: wrong })).status).toBe(400);
    expect((await shopper.post('/account/code', { code })).location).toBe('/account/music');
    expect((await shopper.get('/account/music')).status).toBe(200);
  };

  it.skipIf(skip)('buys with PayPal and by mobile, signs in by code both ways, and logs neither the email nor the number', async () => {
    // PayPal: the payer's email arrives from the provider and the confirmation goes out by email.
    const { orderPage: paidByPayPal } = await buyWithPayPal(store, EMAIL_TYPED, { release, marketing: true });
    expect(paidByPayPal.html.querySelector('h1')!.text).toContain('your order is paid');
    await store.smtp!.waitFor(1);

    // Mobile: the number is typed at the intermediary's page; the confirmation goes out by SMS.
    const mobile = await checkoutByMobile();
    const visit = await payAtStandIn(mobile.payUrl, { msisdn: MOBILE_TYPED });
    const paidByMobile = await mobile.shopper.follow(await mobile.shopper.get(visit.returnUrl!));
    expect(paidByMobile.html.querySelector('h1')!.text).toContain('your order is paid');
    await store.payforit.control.notificationsSettled();
    await store.waitForSms('+447700900731');

    // Sign-in codes to both, as a customer would type the contact detail.
    await signInByCode(` ${EMAIL_TYPED} `, async () => {
      await store.smtp!.waitFor(2);
      return store.smtp!.received.at(-1)!.parsed.text!;
    });
    const textsBefore = smsTo('+447700900731').length;
    await signInByCode(MOBILE_TYPED, async () =>
      waitFor('the sign-in code by SMS', () => smsTo('+447700900731').length > textsBefore && smsTo('+447700900731').at(-1)!.body),
    );
    // A stranger asking for a code: answered the same way, logged the same way.
    const stranger = new Shopper(store.baseUrl);
    await stranger.get('/account');
    await stranger.post('/account/sign-in', { contact: 'someone.else@example.net' });

    // Every outbox message was delivered and logged by the worker before we read the log.
    await waitFor(
      'the outbox to empty',
      async () =>
        (await store.database.db.selectFrom('outbox').select('status').where('status', '<>', 'sent').execute()).length === 0 || undefined,
    );
    const log = lines.join('');

    // The log was really captured: requests of both journeys and the worker's sends are in it.
    expect(lines.length).toBeGreaterThan(20);
    const entries = lines.map((l) => JSON.parse(l) as { msg: string; path?: string; channel?: string });
    expect(entries.some((e) => e.msg === 'request' && e.path === '/checkout')).toBe(true);
    expect(entries.some((e) => e.msg === 'request' && e.path === '/account/code')).toBe(true);
    expect(entries.some((e) => e.msg === 'request' && e.path === '/checkout/payforit/return')).toBe(true);
    expect(entries.filter((e) => e.msg === 'outbox: message sent' && e.channel === 'email').length).toBeGreaterThanOrEqual(2);
    expect(entries.filter((e) => e.msg === 'outbox: message sent' && e.channel === 'sms').length).toBeGreaterThanOrEqual(2);

    const lower = log.toLowerCase();
    for (const email of [EMAIL, 'someone.else@example.net']) {
      expect(lower).not.toContain(email);
      expect(lower).not.toContain(email.split('@')[0]);
      expect(lower).not.toContain(encodeURIComponent(email).toLowerCase());
    }
    for (const form of MOBILE_FORMS) {
      expect(log).not.toContain(form);
      expect(log).not.toContain(encodeURIComponent(form));
    }
    // However it might be punctuated, the number's ten significant digits never appear in a row.
    expect(log.replace(/[\s().+-]/g, '')).not.toContain('7700900731');
  });
});
