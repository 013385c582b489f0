import { parse } from 'node-html-parser';
import { signParams, type SignedParams } from '../../src/payments/payforit/signature.js';
import type { TestStore } from './store.js';

export interface StandInVisit {
  transactionId: string;
  /** The page HTML at each step: the first view, then the PIN step. */
  pages: string[];
  /** Where the stand-in sends the browser back (the signed return URL), once confirmed or cancelled. */
  returnUrl?: string;
  pin?: string;
}

/**
 * A shopper at the stand-in's payment page over plain HTTP, as a browser without JavaScript would:
 * opens the signed request, types the number, reads the PIN the page shows, then confirms or
 * cancels (or stops before, with `action: 'none'`).
 */
export async function payAtStandIn(
  payUrl: string,
  options: { msisdn?: string; action?: 'confirm' | 'cancel' | 'none'; pin?: string } = {},
): Promise<StandInVisit> {
  const { msisdn = '07700 900123', action = 'confirm' } = options;
  const opened = await fetch(payUrl, { redirect: 'manual' });
  if (opened.status !== 303) throw new Error(`the stand-in refused the payment request: ${opened.status} ${await opened.text()}`);
  const pageUrl = new URL(opened.headers.get('location')!, payUrl).toString();
  const transactionId = pageUrl.split('/pay/')[1]!;
  const visit: StandInVisit = { transactionId, pages: [await (await fetch(pageUrl)).text()] };
  const post = async (step: string, form: Record<string, string>) => {
    const response = await fetch(`${pageUrl}/${step}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form),
    });
    if (response.status !== 303) throw new Error(`the stand-in answered ${response.status} to ${step}: ${await response.text()}`);
    return response.headers.get('location')!;
  };
  if (action === 'cancel') {
    visit.returnUrl = await post('cancel', {});
    return visit;
  }
  await post('number', { msisdn });
  const pinPage = await (await fetch(pageUrl)).text();
  visit.pages.push(pinPage);
  visit.pin = parse(pinPage).querySelector('#test-pin')!.text;
  if (action === 'confirm') visit.returnUrl = await post('confirm', { pin: options.pin ?? visit.pin });
  return visit;
}

/** Confirms a visit stopped with action 'none'. */
export async function confirmAtStandIn(store: TestStore, visit: StandInVisit): Promise<string> {
  const response = await fetch(`${store.payforit.url}/pay/${visit.transactionId}/confirm`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ pin: visit.pin! }),
  });
  if (response.status !== 303) throw new Error(`confirm answered ${response.status}`);
  return response.headers.get('location')!;
}

/** A notification as the intermediary would send it, signed with the store's secret (or not, if told). */
export async function sendNotification(
  store: TestStore,
  fields: SignedParams,
  options: { now?: Date; secret?: string } = {},
): Promise<{ status: number; body: string }> {
  const signed = signParams(
    { merchant_id: store.payforit.merchantId, currency: 'GBP', network: 'EE', ...fields },
    options.secret ?? store.payforit.secret,
    options.now ?? new Date(),
  );
  return postNotification(store, new URLSearchParams(signed).toString());
}

export async function postNotification(
  store: TestStore,
  body: string,
  contentType = 'application/x-www-form-urlencoded',
): Promise<{ status: number; body: string }> {
  const response = await fetch(`${store.baseUrl}/notifications/payforit`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
  });
  return { status: response.status, body: await response.text() };
}

/** A return URL as the intermediary would build it, signed with the store's secret. */
export function signedReturn(store: TestStore, fields: SignedParams, options: { now?: Date; secret?: string } = {}): string {
  const signed = signParams(fields, options.secret ?? store.payforit.secret, options.now ?? new Date());
  return `${store.baseUrl}/checkout/payforit/return?${new URLSearchParams(signed)}`;
}

/** A payment request as the store would make it, signed with its secret, for testing the stand-in. */
export function signedPaymentRequest(store: TestStore, fields: SignedParams): string {
  const signed = signParams(
    {
      merchant_id: store.payforit.merchantId,
      currency: 'GBP',
      description: 'Test purchase',
      return_url: `${store.baseUrl}/checkout/payforit/return`,
      ...fields,
    },
    store.payforit.secret,
    new Date(),
  );
  return `${store.payforit.url}/pay?${new URLSearchParams(signed)}`;
}

export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
