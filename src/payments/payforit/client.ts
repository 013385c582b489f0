/**
 * The store's side of the intermediary's HTTP interface (../shared/specs/payforit.md): the signed
 * payment request the shopper's browser is sent to, the status query and refunds. Every answer is
 * checked for its signature before anything in it is believed.
 */
import { PaymentProviderError } from '../payment-method.js';
import { CURRENCY } from './messages.js';
import { signParams, verifyParams, type SignedParams } from './signature.js';

export interface PayForItClientOptions {
  apiBase: string;
  /** Where browsers reach the payment page; apiBase unless the intermediary says otherwise. */
  payPageBase?: string;
  merchantId: string;
  secret: string;
  timeoutMs?: number;
  clock?: () => Date;
}

export interface PaymentRequestFields {
  ref: string;
  amountPence: number;
  description: string;
  returnUrl: string;
}

export type RefundAnswer = 'refunded' | 'already-refunded';

export function createPayForItClient({
  apiBase,
  payPageBase = apiBase,
  merchantId,
  secret,
  timeoutMs = 10_000,
  clock = () => new Date(),
}: PayForItClientOptions) {
  async function send(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      const kind = (error as Error).name === 'TimeoutError' ? 'timed out' : 'could not be reached';
      throw new PaymentProviderError(`the mobile payment service ${kind}`, true);
    }
  }

  /** A JSON answer of flat values, its signature checked; numbers count as the text they were sent as. */
  async function signedJson(response: Response): Promise<SignedParams> {
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      throw new PaymentProviderError(`the mobile payment service answered ${response.status} with something that is not JSON`, true);
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new PaymentProviderError('the mobile payment service answered with an unexpected shape', true);
    const params: SignedParams = Object.create(null) as SignedParams;
    for (const [name, value] of Object.entries(body)) {
      if (typeof value === 'string') params[name] = value;
      else if (typeof value === 'number' && Number.isFinite(value)) params[name] = String(value);
      else throw new PaymentProviderError(`the mobile payment service sent a ${typeof value} for ${name}`, true);
    }
    const verified = verifyParams(params, secret, clock());
    if (!verified.ok) throw new PaymentProviderError(`the mobile payment service's answer failed verification (${verified.reason})`, true);
    return params;
  }

  return {
    /** Section 1: the address of the signed payment request for the shopper's browser. */
    paymentPageUrl(fields: PaymentRequestFields): string {
      const signed = signParams(
        {
          merchant_id: merchantId,
          ref: fields.ref,
          amount_pence: String(fields.amountPence),
          currency: CURRENCY,
          description: fields.description,
          return_url: fields.returnUrl,
        },
        secret,
        clock(),
      );
      return `${payPageBase}/pay?${new URLSearchParams(signed).toString()}`;
    },

    /** Section 4: the result as a notification would carry it, or null when the intermediary has none (404). */
    async transaction(transactionId: string): Promise<SignedParams | null> {
      const query = new URLSearchParams(signParams({ merchant_id: merchantId }, secret, clock()));
      const response = await send(`${apiBase}/transactions/${encodeURIComponent(transactionId)}?${query}`, {
        method: 'GET',
        headers: { accept: 'application/json' },
      });
      if (response.status === 404) {
        await response.body?.cancel();
        return null;
      }
      if (response.status !== 200) {
        await response.body?.cancel();
        throw new PaymentProviderError(`the mobile payment service answered ${response.status} to a status query`, true);
      }
      return signedJson(response);
    },

    /** Section 5. A refund already made counts as done; an unknown transaction cannot be refunded. */
    async refund(transactionId: string, amountPence: number): Promise<RefundAnswer> {
      const body = new URLSearchParams(
        signParams({ merchant_id: merchantId, transaction_id: transactionId, amount_pence: String(amountPence) }, secret, clock()),
      );
      const response = await send(`${apiBase}/refunds`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
      });
      if (response.status === 409) {
        await response.body?.cancel();
        return 'already-refunded';
      }
      if (response.status === 404) {
        await response.body?.cancel();
        throw new PaymentProviderError(`the mobile payment service does not know transaction ${transactionId}`, false);
      }
      if (response.status !== 200) {
        await response.body?.cancel();
        throw new PaymentProviderError(`the mobile payment service answered ${response.status} to a refund`, response.status >= 500);
      }
      const answer = await signedJson(response);
      if (answer.status !== 'refunded')
        throw new PaymentProviderError(`the mobile payment service says the refund is ${answer.status}`, false);
      return 'refunded';
    },
  };
}

export type PayForItClient = ReturnType<typeof createPayForItClient>;
