/**
 * A local stand-in for PayPal's REST API (OAuth, Orders v2, captures and refunds, webhooks and
 * their verification) plus the buyer's approval page. The store talks to it over real HTTP
 * exactly as it would to api-m.sandbox.paypal.com; it serves the zero-configuration demo and the
 * tests. Requests are checked against PayPal's official OpenAPI documents (DESIGN.md, "External
 * services"), and answers keep those documents' shapes.
 */
import express from 'express';
import { errorStatus, listen, type ListeningServer } from '../http-server.js';
import { approvalRoutes } from './approval-page.js';
import { createContext, type PayPalSandboxOptions, type SandboxContext } from './context.js';
import { createControl, type SandboxControl } from './control.js';
import { loggableBody } from './http.js';
import { paypalTime } from './ids.js';
import { apiRoutes } from './routes.js';

export type { PayPalSandboxOptions, ReceivedRequest } from './context.js';
export type { SandboxControl } from './control.js';
export type { WebhookEvent, WebhookEventType } from './events.js';
export type { FaultMode, FaultOptions, FaultPoint } from './faults.js';
export type { ApproveOptions } from './orders.js';
export type { SentWebhook } from './webhooks.js';
export { loadPayPalSchemas, type PayPalSchemas, type SpecName } from './schemas.js';

const MAX_LOGGED_REQUESTS = 1000;

export interface PayPalSandbox {
  app: express.Express;
  control: SandboxControl;
}

export interface RunningPayPalSandbox {
  /** Where it listens, e.g. http://127.0.0.1:41234: the store's PayPal API base URL. */
  url: string;
  control: SandboxControl;
  /** Stops listening, ends hung connections and stops webhook retries. */
  close(): Promise<void>;
}

export function createPayPalSandbox(options: PayPalSandboxOptions): PayPalSandbox {
  const { app, control } = assemble(createContext(options));
  return { app, control };
}

export async function startPayPalSandbox(options: PayPalSandboxOptions & { port?: number; host?: string }): Promise<RunningPayPalSandbox> {
  const ctx = createContext(options);
  const { app, control } = assemble(ctx);
  const server = await listen(app, options);
  const url = server.url;
  ctx.urls.api = url;
  ctx.urls.public ??= url;
  return { url, control, close: () => shutDown(ctx, server) };
}

function assemble(ctx: SandboxContext): PayPalSandbox {
  const app = express();
  app.disable('x-powered-by');
  // Raw bytes for every request: the log keeps what was really sent, and JSON errors are PayPal's.
  app.use(express.raw({ type: () => true, limit: '1mb' }));
  app.use((req, _res, next) => {
    ctx.received.push({
      method: req.method,
      path: req.path,
      query: { ...req.query },
      headers: { ...req.headers },
      body: loggableBody(req),
      receivedAt: paypalTime(ctx.clock()),
    });
    if (ctx.received.length > MAX_LOGGED_REQUESTS) ctx.received.shift();
    next();
  });
  app.use(apiRoutes(ctx));
  app.use(approvalRoutes(ctx));
  app.use((_req, res) => void res.status(404).type('text').send('Not found'));
  app.use(((err, _req, res, _next) => {
    // A body too large or cut short is the client's doing; anything else is a fault here.
    const status = errorStatus(err);
    if (status !== 500)
      return void res
        .status(status)
        .type('text')
        .send(String((err as Error).message));
    console.error('PayPal stand-in: unexpected error', err);
    res.status(500).type('text').send('The PayPal stand-in failed; see its log.');
  }) satisfies express.ErrorRequestHandler);
  return { app, control: createControl(ctx) };
}

async function shutDown(ctx: SandboxContext, server: ListeningServer): Promise<void> {
  ctx.webhooks.close();
  ctx.faults.releaseHanging();
  await server.close();
  await ctx.webhooks.settled();
}
