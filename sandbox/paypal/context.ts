import { DEFAULT_TOKEN_TTL_SECONDS, TokenStore } from './auth.js';
import { Faults } from './faults.js';
import { RequestIds } from './idempotency.js';
import { OrderBook } from './orders.js';
import { loadPayPalSchemas, type PayPalSchemas } from './schemas.js';
import { DEFAULT_RETRY_DELAYS_MS, WebhookSender } from './webhooks.js';

export interface PayPalSandboxOptions {
  /** The only credentials /v1/oauth2/token accepts (HTTP Basic). */
  clientId: string;
  clientSecret: string;
  /** verify-webhook-signature succeeds only for this webhook_id (PayPal's pattern: letters and digits). */
  webhookId: string;
  /** Where webhook events are POSTed (the store's endpoint); none means events are not sent. */
  webhookUrl?: string;
  /** The stand-in's base URL as a browser reaches it, for approval links. Default: where it listens. */
  publicUrl?: string;
  tokenTtlSeconds?: number;
  clock?: () => Date;
  /** Waits between webhook delivery attempts; one retry per entry, then it gives up. Default 1s, 5s, 15s. */
  webhookRetryDelaysMs?: number[];
  /** Where PayPal's OpenAPI documents are. Default: the repository's specs/paypal. */
  specsDir?: string;
}

/** One request as the stand-in received it, for tests to assert on what the store sent. */
export interface ReceivedRequest {
  method: string;
  path: string;
  query: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  receivedAt: string;
}

/** Everything a sandbox instance knows; its routes and its control share it. */
export interface SandboxContext {
  options: PayPalSandboxOptions;
  clock: () => Date;
  schemas: PayPalSchemas;
  tokens: TokenStore;
  book: OrderBook;
  requestIds: RequestIds;
  faults: Faults;
  webhooks: WebhookSender;
  received: ReceivedRequest[];
  /** Filled in by startPayPalSandbox once it is listening; a mounted app learns from requests. */
  urls: { api?: string; public?: string };
}

/** PayPal's own pattern for webhook_id in verify-webhook-signature: an id outside it can never verify. */
const WEBHOOK_ID = /^[a-zA-Z0-9]{1,50}$/;

export function createContext(options: PayPalSandboxOptions): SandboxContext {
  if (!WEBHOOK_ID.test(options.webhookId)) {
    throw new Error(
      `PayPal stand-in: webhookId ${JSON.stringify(options.webhookId)} does not match PayPal's webhook_id pattern ^[a-zA-Z0-9]+$ ` +
        '(at most 50 characters), so verify-webhook-signature would reject every check with 400. Use letters and digits only.',
    );
  }
  const clock = options.clock ?? (() => new Date());
  const urls: SandboxContext['urls'] = { public: options.publicUrl?.replace(/\/+$/, '') };
  return {
    options,
    clock,
    schemas: loadPayPalSchemas(options.specsDir),
    tokens: new TokenStore(options.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS, clock),
    book: new OrderBook(clock),
    requestIds: new RequestIds(),
    faults: new Faults(),
    webhooks: new WebhookSender({
      url: options.webhookUrl,
      webhookId: options.webhookId,
      retryDelaysMs: options.webhookRetryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS,
      clock,
      certUrl: () => `${urls.api ?? urls.public ?? 'http://localhost'}/v1/notifications/certs/CERT-360caa42-fca2a594-sandbox`,
    }),
    received: [],
    urls,
  };
}
