/**
 * Result notifications (section 2 of ../shared/specs/payforit.md): POSTed to the merchant's
 * registered callback, form-encoded and signed, and sent again after 10 s, 1 min, 5 min, 30 min
 * and 2 h until the merchant answers 200 with the body OK. Each attempt carries a fresh timestamp
 * and signature over the same fields (an old timestamp would fall outside the merchant's window);
 * replay() sends an earlier transmission again byte for byte, as a replaying attacker would.
 */
import { signParams, type SignedParams } from '../../payments/payforit/signature.js';

/** The documented schedule of resends after a notification was not answered OK. */
export const RETRY_SCHEDULE_MS = [10_000, 60_000, 300_000, 1_800_000, 7_200_000];
const DELIVERY_TIMEOUT_MS = 10_000;

export interface SentNotification {
  transactionId: string;
  status: string;
  /** 1 for the first delivery, 2 to 6 for the resends; a replay counts as its own attempt 1. */
  attempt: number;
  replay: boolean;
  url: string;
  body: string;
  sentAt: Date;
  /** How long it waited after the previous attempt (the schedule, as scaled), in ms. */
  waitedMs: number;
  response?: { status: number; body: string };
  error?: string;
}

export interface NotifierOptions {
  url?: string;
  secret: string;
  retryDelaysMs: number[];
  clock: () => Date;
}

export class Notifier {
  private readonly log: SentNotification[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly sleepers = new Set<() => void>();
  private readonly gateWaiters = new Set<() => void>();
  private readonly stop = new AbortController();
  private held = false;
  private firstDelayMs = 0;
  private closed = false;

  constructor(private readonly options: NotifierOptions) {}

  get enabled(): boolean {
    return this.options.url !== undefined;
  }

  get retryDelaysMs(): number[] {
    return [...this.options.retryDelaysMs];
  }

  set retryDelaysMs(delays: number[]) {
    this.options.retryDelaysMs = [...delays];
  }

  /** Delivers a result, resending on the schedule until it is answered OK or the schedule ends. */
  send(fields: SignedParams): Promise<SentNotification | undefined> {
    if (!this.enabled) return Promise.resolve(undefined);
    return this.track(this.deliver(fields));
  }

  /** Sends an earlier transmission for the transaction (default: the latest one) again, unchanged. */
  replay(transactionId?: string): Promise<SentNotification> {
    const earlier = [...this.log].reverse().find((n) => transactionId === undefined || n.transactionId === transactionId);
    if (!earlier) throw new Error(`PayForIt stand-in: no notification has been sent${transactionId ? ` for ${transactionId}` : ''}`);
    return this.track(this.post(earlier.transactionId, earlier.status, earlier.body, 1, true, 0));
  }

  /** Holds every attempt (first deliveries and resends) before it is sent, until release(). */
  hold(): void {
    this.held = true;
  }

  release(): void {
    this.held = false;
    for (const wake of [...this.gateWaiters]) wake();
  }

  /** Every new notification waits this long before its first attempt (0: none). */
  delayFirstAttempt(ms: number): void {
    this.firstDelayMs = ms;
  }

  /** Ends the current waits between attempts now: the pending resends go out at once. */
  resendNow(): void {
    for (const wake of [...this.sleepers]) wake();
  }

  sent(): SentNotification[] {
    return [...this.log];
  }

  /** Resolves when no delivery is in progress (a held one counts as in progress). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  close(): void {
    this.closed = true;
    this.stop.abort();
    this.release();
    this.resendNow();
  }

  private async deliver(fields: SignedParams): Promise<SentNotification> {
    let waited = 0;
    if (this.firstDelayMs > 0) waited = await this.sleep(this.firstDelayMs);
    for (let attempt = 1; ; attempt++) {
      await this.gate();
      const body = new URLSearchParams(signParams(fields, this.options.secret, this.options.clock())).toString();
      const sent = await this.post(fields.transaction_id!, fields.status!, body, attempt, false, waited);
      const delays = this.options.retryDelaysMs;
      if (answeredOk(sent) || this.closed || attempt > delays.length) return sent;
      waited = await this.sleep(delays[attempt - 1]!);
      if (this.closed) return sent;
    }
  }

  private async post(transactionId: string, status: string, body: string, attempt: number, replay: boolean, waitedMs: number): Promise<SentNotification> {
    const url = this.options.url!;
    const record: SentNotification = { transactionId, status, attempt, replay, url, body, sentAt: this.options.clock(), waitedMs };
    this.log.push(record);
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(DELIVERY_TIMEOUT_MS), this.stop.signal]),
      });
      record.response = { status: response.status, body: await response.text() };
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      record.error = error instanceof Error ? `${error.message}${cause ? ` (${cause})` : ''}` : String(error);
    }
    return record;
  }

  private async gate(): Promise<void> {
    while (this.held && !this.closed) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.gateWaiters.delete(wake);
          resolve();
        };
        this.gateWaiters.add(wake);
      });
    }
  }

  /** Waits ms (or until resendNow/close); resolves with the time actually waited. */
  private sleep(ms: number): Promise<number> {
    const started = Date.now();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve(Date.now() - started);
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.inFlight.add(promise);
    const done = () => void this.inFlight.delete(promise);
    promise.then(done, done);
    return promise;
  }
}

/** The merchant has recorded the outcome: 200 with the body OK, and nothing else counts. */
export function answeredOk(sent: SentNotification): boolean {
  return sent.response?.status === 200 && sent.response.body.trim() === 'OK';
}
