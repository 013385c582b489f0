/**
 * What the stand-ins' notification senders share (PayForIt result notifications, PayPal webhooks):
 * POSTs with a timeout that record the answer or the error, resends on a schedule until one is
 * accepted, waits that can be cut short (a test's "resend now", or close), and a way to wait until
 * every delivery is over.
 */

const DELIVERY_TIMEOUT_MS = 10_000;

/** How one attempt went: the receiver's answer, or why there was none. */
export interface Answer {
  response?: { status: number; body: string };
  error?: string;
}

export class Deliveries {
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly sleepers = new Set<() => void>();
  private readonly stop = new AbortController();
  private stopped = false;

  get closed(): boolean {
    return this.stopped;
  }

  /**
   * Makes attempts (1, 2, ...) until one is accepted, the delays run out or close() is called;
   * resolves with the last. Each attempt is told how long was waited before it.
   */
  async untilAccepted<T>(
    attempt: (n: number, waitedMs: number) => Promise<T>,
    accepted: (sent: T) => boolean,
    delaysMs: () => number[],
    waitedBeforeFirstMs = 0,
  ): Promise<T> {
    let waited = waitedBeforeFirstMs;
    for (let n = 1; ; n++) {
      const sent = await attempt(n, waited);
      const delays = delaysMs();
      if (accepted(sent) || this.stopped || n > delays.length) return sent;
      waited = await this.sleep(delays[n - 1]!);
      if (this.stopped) return sent;
    }
  }

  /** One POST, never throwing: a refused connection, a timeout or close() becomes `error`. */
  async post(url: string, headers: Record<string, string>, body: string): Promise<Answer> {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(DELIVERY_TIMEOUT_MS), this.stop.signal]),
      });
      return { response: { status: response.status, body: await response.text() } };
    } catch (error) {
      return { error: error instanceof Error ? `${error.message}${causeOf(error)}` : String(error) };
    }
  }

  /** Waits ms, or less when wakeAll() or close() comes first; resolves with the time waited. */
  sleep(ms: number): Promise<number> {
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

  /** Ends every current wait now: pending resends go out at once. */
  wakeAll(): void {
    for (const wake of [...this.sleepers]) wake();
  }

  /** Counts the delivery as in progress until it ends. */
  track<T>(promise: Promise<T>): Promise<T> {
    this.inFlight.add(promise);
    const done = () => void this.inFlight.delete(promise);
    promise.then(done, done);
    return promise;
  }

  /** Resolves when no delivery is in progress. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Stops delivering: requests in flight are aborted and pending resends end now. */
  close(): void {
    this.stopped = true;
    this.stop.abort();
    this.wakeAll();
  }
}

function causeOf(error: Error): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause ? ` (${cause.code ?? cause.message})` : '';
}
