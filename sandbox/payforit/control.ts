/**
 * The test-side handle on the stand-in: choose what happens on the payment page, hold, delay or
 * replay notifications, make endpoints fail, and read what was sent.
 */
import type { ResultStatus } from '../../src/payments/payforit/messages.js';
import type { FaultPoint, SandboxContext } from './context.js';
import type { SentNotification } from './notifier.js';
import { finish, signedReturnUrl } from './pages.js';
import type { Network, SentText, Transaction } from './transactions.js';

export interface PayForItSandboxControl {
  /** The outcome when the shopper confirms: for the next payment (queued), or always for one phone. */
  chooseOutcome(outcome: ResultStatus, options?: { msisdn?: string }): void;
  setNetwork(msisdn: string, network: Network): void;
  /** Ends an open transaction as the page would, without a browser; returns the signed return URL. */
  finish(transactionId: string, outcome: ResultStatus): string;
  /** The signed return URL for a finished transaction, as its page links back. */
  returnUrl(transactionId: string): string;
  /** Every notification attempt waits until releaseNotifications() (settled() waits for them too). */
  holdNotifications(): void;
  releaseNotifications(): void;
  /** Every new notification waits this long before its first attempt (0: none). */
  delayNotifications(ms: number): void;
  /** Sends an earlier notification again byte for byte (default: the latest one sent). */
  replayNotification(transactionId?: string): Promise<SentNotification>;
  /** Resends waiting on the schedule go out now. */
  resendNow(): void;
  retryDelaysMs(): number[];
  setRetryDelays(delaysMs: number[]): void;
  /** The next `times` answers of an endpoint are 500s. */
  failNext(point: FaultPoint, times?: number): void;
  sentNotifications(transactionId?: string): SentNotification[];
  notificationsSettled(): Promise<void>;
  /** The texts the intermediary "sent": PINs and receipts. */
  sentTexts(msisdn?: string): SentText[];
  transactions(): Transaction[];
  /** The transaction a payment page URL (…/pay/ID) shows. */
  transactionOf(pageUrl: string): Transaction | undefined;
}

export function createControl(ctx: SandboxContext): PayForItSandboxControl {
  const transaction = (id: string) => {
    const found = ctx.book.find(id);
    if (!found) throw new Error(`PayForIt stand-in: no transaction ${id}`);
    return found;
  };
  return {
    chooseOutcome: (outcome, options = {}) => ctx.book.chooseOutcome(outcome, options.msisdn),
    setNetwork: (msisdn, network) => ctx.book.setNetwork(msisdn, network),
    finish(transactionId, outcome) {
      const open = transaction(transactionId);
      if (open.state !== 'open' && open.state !== 'pin-sent')
        throw new Error(`PayForIt stand-in: transaction ${transactionId} is already ${open.state}`);
      return finish(ctx, undefined, undefined, open, outcome);
    },
    returnUrl: (transactionId) => signedReturnUrl(ctx, transaction(transactionId)),
    holdNotifications: () => ctx.notifier.hold(),
    releaseNotifications: () => ctx.notifier.release(),
    delayNotifications: (ms) => ctx.notifier.delayFirstAttempt(ms),
    replayNotification: (transactionId) => ctx.notifier.replay(transactionId),
    resendNow: () => ctx.notifier.resendNow(),
    retryDelaysMs: () => ctx.notifier.retryDelaysMs,
    setRetryDelays: (delays) => {
      ctx.notifier.retryDelaysMs = delays;
    },
    failNext: (point, times = 1) => void ctx.faults.set(point, (ctx.faults.get(point) ?? 0) + times),
    sentNotifications: (transactionId) =>
      ctx.notifier.sent().filter((n) => transactionId === undefined || n.transactionId === transactionId),
    notificationsSettled: () => ctx.notifier.settled(),
    sentTexts: (msisdn) => ctx.book.sentTexts().filter((t) => msisdn === undefined || t.to === msisdn),
    transactions: () => ctx.book.all(),
    transactionOf: (pageUrl) => ctx.book.find(new URL(pageUrl).pathname.split('/pay/')[1] ?? ''),
  };
}
