/**
 * Result notifications (section 2 of ../shared/specs/payforit.md): POSTed to the merchant's
 * registered callback, form-encoded and signed, and sent again after 10 s, 1 min, 5 min, 30 min
 * and 2 h until the merchant answers 200 with the body OK. Each attempt carries a fresh timestamp
 * and signature over the same fields (an old timestamp would fall outside the merchant's window);
 * replay() sends an earlier transmission again byte for byte, as a replaying attacker would.
 */
import { signParams, type SignedParams } from '../../src/payments/payforit/signature.js';
import { Deliveries } from '../retry.js';

/** The documented schedule of resends after a notification was not answered OK. */
export const RETRY_SCHEDULE_MS = [10_000, 60_000, 300_000, 1_800_000, 7_200_000];

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
  private readonly deliveries = new Deliveries();
  private readonly gateWaiters = new Set<() => void>();
  private held = false;
  private firstDelayMs = 0;

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
    return this.deliveries.track(this.deliver(fields));
  }

  /** Sends an earlier transmission for the transaction (default: the latest one) again, unchanged. */
  replay(transactionId?: string): Promise<SentNotification> {
    const earlier = [...this.log].reverse().find((n) => transactionId === undefined || n.transactionId === transactionId);
    if (!earlier) throw new Error(`PayForIt stand-in: no notification has been sent${transactionId ? ` for ${transactionId}` : ''}`);
    return this.deliveries.track(this.post(earlier.transactionId, earlier.status, earlier.body, 1, true, 0));
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
    this.deliveries.wakeAll();
  }

  sent(): SentNotification[] {
    return [...this.log];
  }

  /** Resolves when no delivery is in progress (a held one counts as in progress). */
  settled(): Promise<void> {
    return this.deliveries.settled();
  }

  close(): void {
    this.deliveries.close();
    this.release();
  }

  private async deliver(fields: SignedParams): Promise<SentNotification> {
    const waited = this.firstDelayMs > 0 ? await this.deliveries.sleep(this.firstDelayMs) : 0;
    return this.deliveries.untilAccepted(
      async (attempt, waitedMs) => {
        await this.gate();
        const body = new URLSearchParams(signParams(fields, this.options.secret, this.options.clock())).toString();
        return this.post(fields.transaction_id!, fields.status!, body, attempt, false, waitedMs);
      },
      answeredOk,
      () => this.options.retryDelaysMs,
      waited,
    );
  }

  private async post(
    transactionId: string,
    status: string,
    body: string,
    attempt: number,
    replay: boolean,
    waitedMs: number,
  ): Promise<SentNotification> {
    const url = this.options.url!;
    const record: SentNotification = { transactionId, status, attempt, replay, url, body, sentAt: this.options.clock(), waitedMs };
    this.log.push(record);
    // The record is in the log while the request is out, so a test sees an attempt in progress.
    Object.assign(record, await this.deliveries.post(url, { 'content-type': 'application/x-www-form-urlencoded' }, body));
    return record;
  }

  private async gate(): Promise<void> {
    while (this.held && !this.deliveries.closed) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.gateWaiters.delete(wake);
          resolve();
        };
        this.gateWaiters.add(wake);
      });
    }
  }
}

/** The merchant has recorded the outcome: 200 with the body OK, and nothing else counts. */
export function answeredOk(sent: SentNotification): boolean {
  return sent.response?.status === 200 && sent.response.body.trim() === 'OK';
}
