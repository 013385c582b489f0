import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { PaymentProviderError } from '../payment-method.js';

/**
 * PayPal's REST API (Orders v2, Payments v2, webhook verification) over plain fetch. We read only
 * the fields we need from each answer and never log or keep the rest (it carries the payer's
 * name and address).
 */
export interface PayPalClientOptions {
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  timeoutMs?: number;
  clock?: () => Date;
}

export class PayPalApiError extends PaymentProviderError {
  constructor(
    readonly status: number,
    readonly issue: string | undefined,
    readonly debugId: string | undefined,
  ) {
    super(`PayPal answered ${status}${issue ? ` ${issue}` : ''}`, status >= 500 || status === 429);
  }
}

const Link = z.object({ href: z.string(), rel: z.string() });
const Money = z.object({ currency_code: z.string(), value: z.string() });
const Capture = z.object({ id: z.string(), status: z.string(), amount: Money.optional() });
export const PayPalOrder = z.object({
  id: z.string(),
  status: z.string(),
  links: z.array(Link).default([]),
  payer: z
    .object({ email_address: z.string().optional(), address: z.object({ country_code: z.string().optional() }).optional() })
    .optional(),
  payment_source: z
    .object({
      paypal: z
        .object({ email_address: z.string().optional(), address: z.object({ country_code: z.string().optional() }).optional() })
        .optional(),
    })
    .optional(),
  purchase_units: z
    .array(z.object({ reference_id: z.string().optional(), payments: z.object({ captures: z.array(Capture).optional() }).optional() }))
    .default([]),
});
export type PayPalOrder = z.infer<typeof PayPalOrder>;
const Token = z.object({ access_token: z.string(), expires_in: z.number() });
const Refund = z.object({ id: z.string(), status: z.string() });
const Verification = z.object({ verification_status: z.string() });
const ErrorBody = z.object({ debug_id: z.string().optional(), details: z.array(z.object({ issue: z.string() })).optional() }).passthrough();

/** A JSON body that is already text and must be sent byte for byte. */
class RawJson {
  constructor(readonly text: string) {}
}

export function createPayPalClient({ baseUrl, clientId, clientSecret, timeoutMs = 15_000, clock = () => new Date() }: PayPalClientOptions) {
  let cached: { token: string; expiresAt: number } | undefined;

  async function send(path: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(baseUrl + path, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      const kind = (error as Error).name === 'TimeoutError' ? 'timed out' : 'could not be reached';
      throw new PaymentProviderError(`PayPal ${kind}`, true);
    }
  }

  async function accessToken(): Promise<string> {
    if (cached && cached.expiresAt > clock().getTime()) return cached.token;
    const response = await send('/v1/oauth2/token', {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });
    if (!response.ok) throw new PayPalApiError(response.status, 'AUTHENTICATION_FAILURE', undefined);
    const token = Token.parse(await response.json());
    // Renew a minute early so a token never expires in flight.
    cached = { token: token.access_token, expiresAt: clock().getTime() + (token.expires_in - 60) * 1000 };
    return cached.token;
  }

  async function call<T extends z.ZodTypeAny>(
    schema: T,
    method: string,
    path: string,
    body?: unknown,
    requestId?: string,
  ): Promise<z.infer<T>> {
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = {
        authorization: `Bearer ${await accessToken()}`,
        'content-type': 'application/json',
        prefer: 'return=representation',
      };
      if (requestId) headers['paypal-request-id'] = requestId;
      const payload = body === undefined ? undefined : body instanceof RawJson ? body.text : JSON.stringify(body);
      let response: Response;
      try {
        response = await send(path, { method, headers, body: payload });
      } catch (error) {
        // A lost answer is retried once under the same PayPal-Request-Id, which PayPal
        // recognises: the retry cannot create or capture a second time.
        if (requestId && attempt === 0) continue;
        throw error;
      }
      if (response.status === 401 && attempt === 0) {
        cached = undefined; // revoked or expired early: one fresh token, then give up
        continue;
      }
      if (!response.ok) {
        const error = ErrorBody.safeParse(await response.json().catch(() => ({})));
        throw new PayPalApiError(
          response.status,
          error.success ? error.data.details?.[0]?.issue : undefined,
          error.success ? error.data.debug_id : undefined,
        );
      }
      return schema.parse(await response.json()) as z.infer<T>;
    }
  }

  return {
    createOrder: (body: unknown, requestId: string) => call(PayPalOrder, 'POST', '/v2/checkout/orders', body, requestId),
    getOrder: (id: string) => call(PayPalOrder, 'GET', `/v2/checkout/orders/${encodeURIComponent(id)}`),
    captureOrder: (id: string, requestId: string) =>
      call(PayPalOrder, 'POST', `/v2/checkout/orders/${encodeURIComponent(id)}/capture`, {}, requestId),
    refundCapture: (captureId: string, amount: { currency_code: string; value: string }, invoiceId: string) =>
      call(
        Refund,
        'POST',
        `/v2/payments/captures/${encodeURIComponent(captureId)}/refund`,
        { amount, invoice_id: invoiceId },
        `refund-${captureId}`,
      ),
    /** Asks PayPal whether a webhook really came from it; the raw body goes back unaltered. */
    async verifyWebhook(headers: Record<string, string | undefined>, rawBody: string, webhookId: string): Promise<boolean> {
      const fields = {
        auth_algo: headers['paypal-auth-algo'],
        cert_url: headers['paypal-cert-url'],
        transmission_id: headers['paypal-transmission-id'],
        transmission_sig: headers['paypal-transmission-sig'],
        transmission_time: headers['paypal-transmission-time'],
        webhook_id: webhookId,
      };
      if (Object.values(fields).some((v) => !v)) return false;
      // Splice the event in as received: re-serialising parsed JSON could change its bytes.
      const body = `${JSON.stringify(fields).slice(0, -1)},"webhook_event":${rawBody}}`;
      const result = await call(Verification, 'POST', '/v1/notifications/verify-webhook-signature', new RawJson(body), randomUUID());
      return result.verification_status === 'SUCCESS';
    },
  };
}

export type PayPalClient = ReturnType<typeof createPayPalClient>;
