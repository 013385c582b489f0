import { latestOperatorCode } from './admin.js';
import { Shopper } from './shopper.js';
import type { TestStore } from './store.js';

/**
 * The six-digit code in the newest message queued for `recipient` (email address or mobile
 * number): from the outbox while it waits, or, once sent (the outbox then keeps no code), from
 * what the test's SMTP server or SMS stand-in received.
 */
export async function newestCode(store: TestStore, recipient: string): Promise<string> {
  const row = await store.database.db
    .selectFrom('outbox')
    .select(['body_text', 'status'])
    .where('recipient', '=', recipient)
    .orderBy('id', 'desc')
    .executeTakeFirst();
  const text = row?.status === 'sent' ? await deliveredText(store, recipient) : row?.body_text;
  const code = text && /\b(\d{6})\b/.exec(text)?.[1];
  if (!code) throw new Error('no sign-in code was queued for that recipient');
  return code;
}

/** The text of the newest message delivered to `recipient` by the test's SMTP server or SMS stand-in. */
export async function deliveredText(store: TestStore, recipient: string): Promise<string | undefined> {
  const mail = store.smtp?.received.filter((m) => m.envelopeTo.includes(recipient)).at(-1);
  if (mail) return `${mail.parsed.subject ?? ''}\n${mail.parsed.text ?? ''}`;
  return store.sms?.control
    .messages()
    .filter((m) => m.to === recipient || m.to === `+${recipient}`)
    .at(-1)?.body;
}

/**
 * Signs a customer in through the real pages: asks for a code for `contact`, reads it from the
 * outbox and types it. Returns the signed-in browser and the code.
 */
export async function signInCustomer(
  store: TestStore,
  contact: string,
  shopper = new Shopper(store.baseUrl),
): Promise<{ shopper: Shopper; code: string }> {
  await shopper.get('/account');
  await shopper.post('/account/sign-in', { contact });
  const code = await newestCode(store, contact);
  await shopper.get('/account/code');
  const signedIn = await shopper.post('/account/code', { code });
  if (signedIn.location !== '/account/music') throw new Error(`the code page answered ${signedIn.status} ${signedIn.location ?? ''}`);
  return { shopper, code };
}

/** Signs an affiliate in through the real pages: email, then the emailed code. Returns the signed-in browser. */
export async function signInAffiliate(store: TestStore, email: string, browser = new Shopper(store.baseUrl)): Promise<Shopper> {
  await browser.get('/affiliate/sign-in');
  const asked = await browser.post('/affiliate/sign-in', { email });
  if (asked.status !== 303) throw new Error(`the affiliate sign-in page answered ${asked.status}`);
  await browser.get('/affiliate/code');
  const signedIn = await browser.post('/affiliate/code', { code: await latestOperatorCode(store, email) });
  if (signedIn.status !== 303) throw new Error(`the affiliate code page answered ${signedIn.status}`);
  return browser;
}
