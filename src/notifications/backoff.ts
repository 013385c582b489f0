/**
 * How long a message waits before its next attempt: exponential (base, 2 x base, 4 x base, ...)
 * up to a ceiling, with part of each delay drawn at random so that messages that failed together
 * (an SMTP server down for ten minutes) do not all come back in the same second.
 */
export interface BackoffPolicy {
  /** The wait after the first failed attempt, before jitter. */
  baseMs: number;
  /** No wait is longer than this. */
  maxMs: number;
  /**
   * The share of each wait drawn at random, 0 to 1 ("equal jitter" at 0.5: the wait is between
   * half and all of the exponential value). 0 makes the schedule exact.
   */
  jitter: number;
}

/** 30 s, 1 min, 2 min, 4 min ... capped at 1 h: with 12 attempts a message keeps trying for about 6 hours. */
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 30_000, maxMs: 3_600_000, jitter: 0.5 };

/**
 * The wait before the next attempt, given how many attempts have been made so far (1 after the
 * first failure). `random` returns a number in [0, 1).
 */
export function backoffDelayMs(attemptsMade: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  if (!(policy.baseMs >= 0) || !(policy.maxMs >= policy.baseMs)) throw new RangeError('backoff needs 0 <= baseMs <= maxMs');
  if (!(policy.jitter >= 0 && policy.jitter <= 1)) throw new RangeError('backoff jitter is a share between 0 and 1');
  const exponent = Math.max(0, Math.floor(attemptsMade) - 1);
  // 2 ** exponent overflows to Infinity for absurd attempt counts; the ceiling still holds.
  const exponential = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(exponential * (1 - policy.jitter) + exponential * policy.jitter * r);
}
