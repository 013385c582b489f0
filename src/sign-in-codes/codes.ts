import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import type { Transaction } from 'kysely';
import { toDbTime } from '../db/dialect.js';
import type { CodeOwnerKind, Database } from '../db/schema.js';
import { countCodesSince, countWrongTry, currentCode, insertCode, retireCodes, useCode } from './repository.js';

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

  return {
    /** A new code for the owner, or 'rate-limited' when their allowance is used up. */
    // eslint-disable-next-line @typescript-eslint/no-redundant-type-constituents -- the union names the one value callers must check
    async issue(tx: Transaction<Database>, ownerId: number): Promise<string | 'rate-limited'> {
      const owner = { kind, id: ownerId };
      if ((await countCodesSince(tx, owner, minutesFromNow(-CODE_WINDOW_MINUTES))) >= CODES_PER_WINDOW) return 'rate-limited';
      const now = toDbTime(clock());
      const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
      await retireCodes(tx, owner, now);
      await insertCode(tx, owner, { hash: hash(ownerId, code), expiresAt: minutesFromNow(CODE_MINUTES) }, now);
      return code;
    },

    /** Checks a typed code; a wrong try counts, and of two racing uses only one succeeds. */
    async verify(tx: Transaction<Database>, ownerId: number, code: string): Promise<CodeCheck> {
      const current = await currentCode(tx, { kind, id: ownerId });
      if (!current) return { ok: false, reason: 'wrong' };
      if (current.expires_at <= toDbTime(clock())) return { ok: false, reason: 'expired' };
      if (current.attempts >= CODE_ATTEMPTS) return { ok: false, reason: 'locked' };
      if (!timingSafeEqual(Buffer.from(hash(ownerId, code)), Buffer.from(current.code_hash))) {
        await countWrongTry(tx, current.id, current.attempts + 1);
        return { ok: false, reason: current.attempts + 1 >= CODE_ATTEMPTS ? 'locked' : 'wrong' };
      }
      return (await useCode(tx, current.id, toDbTime(clock()))) ? { ok: true } : { ok: false, reason: 'wrong' };
    },
  };
}

export type OneTimeCodes = ReturnType<typeof createOneTimeCodes>;
