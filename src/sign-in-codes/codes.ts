import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import type { Transaction } from 'kysely';
import { toDbTime } from '../db/dialect.js';
import type { CodeOwnerKind, Database } from '../db/schema.js';
import { attemptsOf, countWrongTry, currentCode, insertCode, retireCodes, takeCodeAllowance, useCode } from './repository.js';
import { decrementHits } from '../web/rate-limit-repository.js';

export const CODE_MINUTES = 10;
const CODE_ATTEMPTS = 5;
/** Codes cost a message each: at most this many per person per window. */
const CODES_PER_WINDOW = 3;
const CODE_WINDOW_MINUTES = 15;

export type CodeCheck = { ok: true } | CodeRefusal;
export type CodeRefusal = { ok: false; reason: 'wrong' | 'expired' | 'locked' };

/**
 * Six-digit one-time codes: ten minutes, single use, five tries, a new one replaces the old, three
 * per window. Kept only as an HMAC keyed by the server's secret, so a copy of the database alone
 * cannot test guesses. One instance per kind of person: customers, affiliates, operators.
 */
export function createOneTimeCodes(kind: CodeOwnerKind, secret: string, clock: () => Date) {
  const hash = (ownerId: number, code: string) => createHmac('sha256', secret).update(`${kind}:${ownerId}:${code}`).digest('hex');
  const minutesFromNow = (minutes: number) => toDbTime(new Date(clock().getTime() + minutes * 60_000));
  const allowanceKey = (ownerId: number) => createHmac('sha256', secret).update(`sign-in-code-allowance:${kind}:${ownerId}`).digest('hex');

  return {
    /** A new code for the owner, or 'rate-limited' when their allowance is used up. */
    // eslint-disable-next-line @typescript-eslint/no-redundant-type-constituents -- the union names the one value callers must check
    async issue(tx: Transaction<Database>, ownerId: number): Promise<string | 'rate-limited'> {
      const owner = { kind, id: ownerId };
      const now = toDbTime(clock());
      if (!(await takeCodeAllowance(tx, allowanceKey(ownerId), CODES_PER_WINDOW, now, minutesFromNow(CODE_WINDOW_MINUTES))))
        return 'rate-limited';
      const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
      await retireCodes(tx, owner, now);
      await insertCode(tx, owner, { hash: hash(ownerId, code), expiresAt: minutesFromNow(CODE_MINUTES) }, now);
      return code;
    },

    /** Checks a typed code; a wrong try counts, and of two racing uses only one succeeds. */
    async verify(tx: Transaction<Database>, ownerId: number, code: string): Promise<CodeCheck> {
      const current = await currentCode(tx, { kind, id: ownerId });
      if (!current) return { ok: false, reason: 'wrong' };
      const now = toDbTime(clock());
      if (current.used_at !== null || current.expires_at <= now) return { ok: false, reason: 'expired' };
      // What was read above only chooses the words: whether a try counts, and whether the right
      // code signs in, is decided by one conditional UPDATE each (the limit in its WHERE), so
      // racing requests cannot all read "no tries yet" and go on guessing. "Wrong" is said only
      // of a try that was counted and left the code open.
      const right = timingSafeEqual(Buffer.from(hash(ownerId, code)), Buffer.from(current.code_hash));
      if (right && (await useCode(tx, current.id, CODE_ATTEMPTS, now))) {
        // A code that signed its owner in does not count: the allowance stops codes asked for and never used.
        await decrementHits(tx, allowanceKey(ownerId), now);
        return { ok: true };
      }
      const counted = !right && (await countWrongTry(tx, current.id, CODE_ATTEMPTS, now));
      const attempts = await attemptsOf(tx, current.id);
      if (attempts >= CODE_ATTEMPTS) return { ok: false, reason: 'locked' };
      return { ok: false, reason: counted ? 'wrong' : 'expired' };
    },
  };
}

export type OneTimeCodes = ReturnType<typeof createOneTimeCodes>;
