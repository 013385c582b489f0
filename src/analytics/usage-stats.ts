import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { Db } from '../db/database.js';
import { writeBehind } from '../db/write-behind.js';
import { isBot, pagePath, referringDomain } from './page-view.js';
import { addUsage, type UsageIncrement } from './repository.js';
import { createVisitorCounter } from './visitors.js';

export interface UsageStatsDeps {
  db: Db;
  clock: () => Date;
  logger: Logger;
  /** The store's public address: a link from its own host name is not a referral. */
  publicUrl?: string;
  /** How often buffered counts are written to the database. */
  flushMs?: number;
}

export interface UsageStats {
  /** Counts each successful HTML page a person's browser GETs (see pageViewOf); sets no cookie. */
  middleware: RequestHandler;
  /** Writes the counts gathered so far; resolves once written (or put back after a failure). */
  flush(): Promise<void>;
  /** Stops the timer and writes what is left. */
  close(): Promise<void>;
}

const DEFAULT_FLUSH_MS = 5000;

/**
 * Distinct paths and referring domains one process counts per day. Referer headers (and, to a
 * degree, paths) are the client's to choose: past the budget a new one is counted as OTHER, so no
 * client can add rows without bound. The budgets are far above a real store's daily variety.
 */
const MAX_PATHS_PER_DAY = 20_000;
const MAX_DOMAINS_PER_DAY = 2_000;
export const OTHER = '(other)';

/** The distinct keys seen today, up to a budget. */
export class DailyBudget {
  private day = '';
  private seen = new Set<string>();

  constructor(private readonly limit: number) {}

  /** `key` itself while it is known today or the budget allows one more; else OTHER. */
  admit(day: string, key: string): string {
    if (day !== this.day) {
      this.day = day;
      this.seen = new Set();
    }
    if (this.seen.has(key)) return key;
    if (this.seen.size >= this.limit) return OTHER;
    this.seen.add(key);
    return key;
  }
}

/** Counts waiting to be written, keyed by table, day and path or domain. */
class Pending {
  private counts = new Map<string, UsageIncrement>();

  add(increment: UsageIncrement): void {
    const key = `${increment.table}\n${increment.day}\n${'path' in increment ? increment.path : 'domain' in increment ? increment.domain : ''}`;
    const existing = this.counts.get(key);
    if (existing) existing.count += increment.count;
    else this.counts.set(key, { ...increment });
  }

  take(): UsageIncrement[] {
    const all = [...this.counts.values()];
    this.counts.clear();
    return all;
  }
}

/**
 * First-party usage statistics: page views per day and path, referring domains, and unique
 * visitors estimated in memory (src/analytics/visitors.ts). The request path only adds to
 * in-memory counts after the response has gone out; the database sees a handful of
 * upsert-increments every few seconds, from every process alike.
 */
export function createUsageStats({ db, clock, logger, publicUrl, flushMs = DEFAULT_FLUSH_MS }: UsageStatsDeps): UsageStats {
  const visitors = createVisitorCounter();
  const pending = new Pending();
  const publicHost = publicUrl ? new URL(publicUrl).hostname : null;
  const pathBudget = new DailyBudget(MAX_PATHS_PER_DAY);
  const domainBudget = new DailyBudget(MAX_DOMAINS_PER_DAY);

  /** Only what a person saw: a 2xx HTML page (a 404 never counts, so random paths add no rows), from a browser. */
  function record(req: Request, res: Response, path: string): void {
    if (res.statusCode < 200 || res.statusCode >= 300) return;
    const type = res.getHeader('content-type');
    if (typeof type !== 'string' || !type.startsWith('text/html')) return;
    const userAgent = req.headers['user-agent'];
    if (isBot(userAgent)) return;
    const day = visitors.dayOf(clock());
    pending.add({ table: 'page_views', day, path: pathBudget.admit(day, path), count: 1 });
    const domain = referringDomain(req.headers.referer, publicHost ? [req.hostname, publicHost] : [req.hostname]);
    if (domain) pending.add({ table: 'page_referrers', day, domain: domainBudget.admit(day, domain), count: 1 });
    // req.ip honours TRUST_PROXY; it goes into the keyed hash only and is forgotten here.
    if (visitors.isNew(req.ip ?? '', userAgent!)) pending.add({ table: 'daily_visitors', day, count: 1 });
  }

  const middleware: RequestHandler = (req, res, next) => {
    if (req.method === 'GET') {
      const path = pagePath(req.originalUrl);
      if (path !== null) res.once('finish', () => record(req, res, path));
    }
    next();
  };

  async function writeOut(): Promise<void> {
    const batch = pending.take();
    for (const [i, increment] of batch.entries()) {
      try {
        await addUsage(db, increment);
      } catch (error) {
        // Kept for the next flush, with the rest of the batch: a database that is briefly away
        // costs no counts, and one that is down is not asked once per row.
        for (const unwritten of batch.slice(i)) pending.add(unwritten);
        logger.warn({ err: error, unwritten: batch.length - i }, 'usage statistics: counts not written; will try again');
        return;
      }
    }
  }

  const writes = writeBehind(writeOut, flushMs);

  return { middleware, flush: writes.flush, close: writes.close };
}
