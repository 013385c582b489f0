/**
 * Results of sends the database could not take when they came (it was restarting, or unreachable):
 * the worker keeps each one here, keyed by outbox id, and writes it as soon as the database
 * answers again, retrying with back-off, and one last time when the process stops.
 *
 * Why: a message left `sending` goes back to the queue when its lease ends and is sent again. For
 * a message the provider has already taken, that is a second delivery the process knew how to
 * avoid; kept here, only a process that dies can leave a delivered message unrecorded.
 */
import type { Logger } from 'pino';
import { backoffDelayMs, type BackoffPolicy } from './backoff.js';

/** First retry after 0.25 s, doubling to one every 5 s: the database is usually back in seconds. */
export const HELD_RESULT_BACKOFF: BackoffPolicy = { baseMs: 250, maxMs: 5_000, jitter: 0.2 };

export interface HeldResult {
  outboxId: number;
  /** What is kept: 'sent' (the provider took it), 'failed' (a failed attempt), 'released' (never handed over). */
  outcome: 'sent' | 'failed' | 'released';
  /** Writes the result; throws while the database is away. Must be safe to repeat. */
  write(): Promise<void>;
}

export interface HeldResults {
  /** Keeps a result whose write just failed and starts retrying it. */
  hold(result: HeldResult, error: unknown): void;
  /** True when nothing is held (now, after writing what can be written). */
  flush(): Promise<boolean>;
  /** Retries until everything is written or `graceMs` has passed; says which ids are still held. */
  settle(graceMs: number): Promise<number[]>;
  readonly size: number;
  /** Stops the background retries (what is held stays held). */
  stop(): void;
}

export function createHeldResults(
  logger: Logger,
  backoff: BackoffPolicy = HELD_RESULT_BACKOFF,
  random: () => number = Math.random,
): HeldResults {
  const held = new Map<number, HeldResult>();
  let timer: NodeJS.Timeout | undefined;
  let failures = 0;
  let flushing: Promise<boolean> | undefined;

  async function writeAll(): Promise<boolean> {
    for (const [id, result] of held) {
      try {
        await result.write();
      } catch {
        failures++;
        return false;
      }
      held.delete(id);
      logger.info({ outboxId: id, outcome: result.outcome }, 'outbox: recorded a result kept while the database was away');
    }
    failures = 0;
    return true;
  }

  /** One writer at a time: the retry timer, the worker's next claim and stop() may all ask at once. */
  function flush(): Promise<boolean> {
    flushing ??= writeAll().finally(() => (flushing = undefined));
    return flushing;
  }

  function scheduleRetry(): void {
    if (timer || held.size === 0) return;
    timer = setTimeout(
      () => {
        timer = undefined;
        void flush().then((done) => done || scheduleRetry());
      },
      backoffDelayMs(failures + 1, backoff, random),
    );
    timer.unref();
  }

  return {
    hold(result, error) {
      held.set(result.outboxId, result);
      // The code only: a driver's message can quote the statement and its values.
      logger.warn(
        { outboxId: result.outboxId, outcome: result.outcome, code: (error as { code?: string })?.code ?? 'unknown' },
        'outbox: the database did not take a result; keeping it to record when it answers',
      );
      scheduleRetry();
    },
    async flush() {
      const done = await flush();
      if (!done) scheduleRetry();
      return done;
    },
    async settle(graceMs) {
      const deadline = Date.now() + graceMs;
      clearTimeout(timer);
      timer = undefined;
      while (!(await flush()) && Date.now() < deadline) {
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min(backoffDelayMs(failures, backoff, random), Math.max(0, deadline - Date.now()))),
        );
      }
      return [...held.keys()];
    },
    get size() {
      return held.size;
    },
    stop() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
