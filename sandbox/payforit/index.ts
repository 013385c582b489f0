/**
 * A local stand-in for the mobile-billing intermediary of ../shared/specs/payforit.md: the
 * payment page with its PIN step, signed result notifications with resends on the documented
 * schedule, the status query and refunds. The store talks to it over real HTTP exactly as to a
 * real intermediary; it serves the zero-configuration demo (mounted beside the store) and the
 * tests (on a port of its own, with a control handle).
 */
import express from 'express';
import { errorStatus, listen } from '../http-server.js';
import { apiRoutes } from './api.js';
import { createContext, type PayForItSandboxOptions, type SandboxContext } from './context.js';
import { createControl, type PayForItSandboxControl } from './control.js';
import { paymentPageRoutes } from './pages.js';

export type { PayForItSandboxOptions, FaultPoint } from './context.js';
export type { PayForItSandboxControl } from './control.js';
export { answeredOk, RETRY_SCHEDULE_MS, type SentNotification } from './notifier.js';
export type { Network, SentText, Transaction } from './transactions.js';

export interface PayForItSandbox {
  app: express.Express;
  control: PayForItSandboxControl;
  /** Stops resends and ends deliveries in flight. */
  close(): void;
}

export interface RunningPayForItSandbox {
  /** Where it listens, e.g. http://127.0.0.1:41234: the store's PAYFORIT_API_BASE. */
  url: string;
  control: PayForItSandboxControl;
  close(): Promise<void>;
}

export function createPayForItSandbox(options: PayForItSandboxOptions): PayForItSandbox {
  const ctx = createContext(options);
  return { app: assemble(ctx), control: createControl(ctx), close: () => ctx.notifier.close() };
}

export async function startPayForItSandbox(
  options: PayForItSandboxOptions & { port?: number; host?: string },
): Promise<RunningPayForItSandbox> {
  const ctx = createContext(options);
  const server = await listen(assemble(ctx), options);
  return {
    url: server.url,
    control: createControl(ctx),
    async close() {
      ctx.notifier.close();
      await server.close();
      await ctx.notifier.settled();
    },
  };
}

function assemble(ctx: SandboxContext): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.text({ type: () => true, limit: '16kb' }));
  app.use(paymentPageRoutes(ctx));
  app.use(apiRoutes(ctx));
  app.use((_req, res) => void res.status(404).type('text').send('Not found'));
  app.use(((err, _req, res, _next) => {
    // A body too large or unreadable is the sender's mistake; anything else is the stand-in's.
    const status = errorStatus(err);
    if (status === 500) console.error('PayForIt stand-in: unexpected error', err);
    res
      .status(status)
      .type('text')
      .send(status === 500 ? 'The PayForIt stand-in failed; see its log.' : 'Bad request');
  }) satisfies express.ErrorRequestHandler);
  return app;
}
