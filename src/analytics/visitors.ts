import { createHash, randomBytes } from 'node:crypto';

const DAY_MS = 24 * 3600_000;

/**
 * Past this many visitors in one day a process stops adding new ones (20 to 35 MB of memory):
 * the estimate then undercounts rather than the process running out of memory.
 */
const MAX_TRACKED = 1_000_000;

export interface VisitorCounter {
  /** The UTC day ('YYYY-MM-DD') of `now`; at a new day the salt is replaced and the day's set emptied. */
  dayOf(now: Date): string;
  /** True the first time today that this process sees this address and browser (call dayOf first). */
  isNew(ip: string, userAgent: string): boolean;
}

/**
 * Unique visitors per day, estimated without keeping anything about a visitor.
 *
 * A visitor is SHA-256(salt + IP + User-Agent), where the salt is 32 random bytes made in memory and
 * replaced at UTC midnight: it is never written anywhere, so after midnight (or a restart) no one,
 * us included, can recompute yesterday's values or link a visitor across days. Only 30 bits of each
 * value are kept, in a Set that is dropped at midnight; only the count leaves the process.
 *
 * The estimate is per process: several processes behind a load balancer each have their own salt
 * and set, so one person served by two processes counts twice, and the stored figure is the sum of
 * the processes' counts. Sharing the salt would fix that but means storing it, which we will not do.
 * 30-bit values also collide now and then (about one visitor in 2,000 at a million a day).
 */
export function createVisitorCounter(): VisitorCounter {
  let day = '';
  let dayStart = 0;
  let salt = randomBytes(32);
  let seen = new Set<number>();

  const rotate = (ms: number) => {
    dayStart = ms - (ms % DAY_MS);
    day = new Date(dayStart).toISOString().slice(0, 10);
    salt = randomBytes(32);
    seen = new Set();
  };

  return {
    dayOf(now) {
      const ms = now.getTime();
      // A clock set back (tests, or a corrected server clock) starts a fresh day as well.
      if (ms < dayStart || ms >= dayStart + DAY_MS || day === '') rotate(ms);
      return day;
    },
    isNew(ip, userAgent) {
      // SHA-256 over a secret random prefix: as unguessable as an HMAC here, and half the cost on every page.
      const digest = createHash('sha256').update(salt).update(ip).update('\0').update(userAgent).digest();
      // 30 bits: a small integer V8 keeps inline in the Set, about 20 bytes per visitor.
      const key = digest.readUInt32BE(0) >>> 2;
      if (seen.has(key) || seen.size >= MAX_TRACKED) return false;
      seen.add(key);
      return true;
    },
  };
}
