/**
 * A database-backed store for express-rate-limit, so a limit holds across every app process on
 * one database (the in-memory store counts per process: N processes would allow N times the limit).
 *
 * Privacy: the limiter's key (an IP address, or whatever a limiter keys on) is never stored; the
 * row is keyed by HMAC-SHA256(session secret, limiter name + key), which cannot be reversed or
 * matched against a list of addresses without the secret.
 */
import { createHmac } from 'node:crypto';
import type { RequestHandler } from 'express';
import { rateLimit, type ClientRateLimitInfo, type Options, type Store } from 'express-rate-limit';
import { HttpError } from './errors.js';
import type { Db } from '../db/database.js';
import { fromDbTime, toDbTime } from '../db/dialect.js';
import { currentHits, decrementHits, deleteEnded, deleteKey, incrementHits } from './rate-limit-repository.js';

export interface RateLimitStoresOptions {
  db: Db;
  /** The session secret: the HMAC key for the stored keys. */
  secret: string;
  clock?: () => Date;
  /** How often rows of ended windows are deleted (0: never, for tests that sweep by hand). */
  sweepEveryMs?: number;
}

export interface RateLimitStores {
  /** A store for one limiter; the name keeps its counts apart from other limiters' counts. */
  store(name: string): Store;
  /** Deletes the rows of ended windows; returns how many. */
  sweep(): Promise<number>;
  close(): void;
}

const DEFAULT_SWEEP_MS = 10 * 60_000;
const NAME = /^[a-z0-9-]{1,40}$/;

export function createRateLimitStores({
  db,
  secret,
  clock = () => new Date(),
  sweepEveryMs = DEFAULT_SWEEP_MS,
}: RateLimitStoresOptions): RateLimitStores {
  const names = new Set<string>();
  const sweep = () => deleteEnded(db, toDbTime(clock()));
  const timer = sweepEveryMs > 0 ? setInterval(() => void sweep().catch(() => undefined), sweepEveryMs) : undefined;
  timer?.unref();
  return {
    store(name) {
      if (!NAME.test(name)) throw new RangeError(`rate limit store: bad limiter name ${JSON.stringify(name)}`);
      if (names.has(name)) throw new RangeError(`rate limit store: ${name} is already used by another limiter`);
      names.add(name);
      return new DatabaseRateLimitStore(db, secret, name, clock);
    },
    sweep,
    close: () => clearInterval(timer),
  };
}

export class DatabaseRateLimitStore implements Store {
  /** Counts are shared by every process: express-rate-limit's double-count check must know. */
  readonly localKeys = false;
  readonly prefix: string;
  private windowMs = 60_000;

  constructor(
    private readonly db: Db,
    private readonly secret: string,
    name: string,
    private readonly clock: () => Date,
  ) {
    this.prefix = `${name}:`;
  }

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const count = await currentHits(this.db, this.hash(key), toDbTime(this.clock()));
    return count && { totalHits: count.hits, resetTime: fromDbTime(count.resetAt) };
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    const now = this.clock();
    // Stored times are whole seconds: round the end up so a window is never shorter than asked.
    const resetAt = toDbTime(new Date(Math.ceil((now.getTime() + this.windowMs) / 1000) * 1000));
    const count = await incrementHits(this.db, this.hash(key), toDbTime(now), resetAt);
    return { totalHits: count.hits, resetTime: fromDbTime(count.resetAt) };
  }

  async decrement(key: string): Promise<void> {
    await decrementHits(this.db, this.hash(key), toDbTime(this.clock()));
  }

  async resetKey(key: string): Promise<void> {
    await deleteKey(this.db, this.hash(key));
  }

  /** The stored key: a keyed hash of limiter and client, 64 hex characters. */
  hash(key: string): string {
    return createHmac('sha256', this.secret).update(`rate-limit\0${this.prefix}${key}`).digest('hex');
  }
}

/**
 * A per-client limit whose counts are kept in the database (keyed hashes, no addresses), so it
 * holds across every app process. Over the limit, the visitor gets `message` on a 429 page.
 */
export function perClientLimit({
  max,
  minutes,
  store,
  message = 'Too many tries from here. Please wait a few minutes and try again.',
}: {
  max: number;
  minutes: number;
  store: Store;
  message?: string;
}): RequestHandler {
  return rateLimit({
    store,
    windowMs: minutes * 60_000,
    limit: max,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    // Any client can send X-Forwarded-For; with TRUST_PROXY off it is ignored, and need not be
    // logged as a misconfiguration on every such request.
    validate: { xForwardedForHeader: false },
    handler: (_req, _res, next) => next(new HttpError(429, message)),
  });
}
