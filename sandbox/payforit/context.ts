import { Notifier, RETRY_SCHEDULE_MS } from './notifier.js';
import { TransactionBook } from './transactions.js';

export interface PayForItSandboxOptions {
  /** The one merchant registered with this stand-in. */
  merchantId: string;
  /** The shared secret (at least 32 bytes, as the store requires). */
  secret: string;
  /** The merchant's name as the payment page and the receipts show it. */
  merchantName: string;
  /** The merchant's registered callback for notifications; none means none are sent. */
  callbackUrl?: string;
  /** Origins a return_url may point to: the merchant's own site. Anything else is refused. */
  returnOrigins: string[];
  /** The scheme's largest single charge, in pence. Default 1000. */
  maxPence?: number;
  /** Waits before each resend of an unanswered notification. Default: the documented schedule. */
  retryDelaysMs?: number[];
  /** Multiplies the retry schedule (tests: 0.001 makes 10 s into 10 ms). Default 1. */
  retryScale?: number;
  clock?: () => Date;
}

export type FaultPoint = 'status' | 'refund';

export interface SandboxContext {
  options: PayForItSandboxOptions;
  clock: () => Date;
  maxPence: number;
  returnOrigins: string[];
  book: TransactionBook;
  notifier: Notifier;
  /** Answers to fail with 500, counted per endpoint. */
  faults: Map<FaultPoint, number>;
}

export function createContext(options: PayForItSandboxOptions): SandboxContext {
  if (Buffer.byteLength(options.secret, 'utf8') < 32) throw new Error('PayForIt stand-in: the shared secret must be at least 32 bytes');
  const clock = options.clock ?? (() => new Date());
  const scale = options.retryScale ?? 1;
  return {
    options,
    clock,
    maxPence: options.maxPence ?? 1000,
    returnOrigins: options.returnOrigins.map((o) => new URL(o).origin),
    book: new TransactionBook(clock),
    notifier: new Notifier({
      url: options.callbackUrl,
      secret: options.secret,
      clock,
      retryDelaysMs: (options.retryDelaysMs ?? RETRY_SCHEDULE_MS).map((ms) => Math.round(ms * scale)),
    }),
    faults: new Map(),
  };
}
