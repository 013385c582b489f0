import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { toDbTime } from '../db/dialect.js';
import type { Database } from '../db/schema.js';

const CODE_MINUTES = 10;
const CODE_ATTEMPTS = 5;
/** Codes cost a message each: at most this many per person per window. */
const CODES_PER_WINDOW = 3;
const CODE_WINDOW_MINUTES = 15;

export type CodeCheck = { ok: true } | { ok: false; reason: 'wrong' | 'expired' | 'locked' };

/** A table of codes for one kind of person: sign_in_codes (customer_id), affiliate_sign_in_codes (affiliate_id), operator_sign_in_codes (operator_id). */
export interface CodeTable {
  table: 'sign_in_codes' | 'affiliate_sign_in_codes' | 'operator_sign_in_codes';
  owner: 'customer_id' | 'affiliate_id' | 'operator_id';
}

/**
 * Six-digit one-time codes: ten minutes, single use, five tries, a new one replaces the old, three
 * per window. Kept only as an HMAC keyed by the server's secret, so a copy of the database alone
 * cannot test guesses. Used for customers' and affiliates' sign-in alike.
 */
export function createOneTimeCodes({ table, owner }: CodeTable, secret: string, clock: () => Date) {
  const hash = (ownerId: number, code: string) => createHmac('sha256', secret).update(`${table}:${ownerId}:${code}`).digest('hex');
  // The two tables have the same columns; only the owner's column name differs.
  const t = (tx: Transaction<Database> | Kysely<Database>) => tx as unknown as Kysely<Record<string, { id: number; code_hash: string; attempts: number; expires_at: string; used_at: string | null; created_at: string } & Record<typeof owner, number>>>;

  return {
    /** A new code for the owner, or 'rate-limited' when their allowance is used up. */
    async issue(tx: Transaction<Database>, ownerId: number): Promise<string | 'rate-limited'> {
      const since = toDbTime(new Date(clock().getTime() - CODE_WINDOW_MINUTES * 60_000));
      const recent = await t(tx).selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where(owner, '=', ownerId).where('created_at', '>', since).executeTakeFirstOrThrow();
      if (Number(recent.n) >= CODES_PER_WINDOW) return 'rate-limited';
      const now = toDbTime(clock());
      const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
      await t(tx).updateTable(table).set({ used_at: now }).where(owner, '=', ownerId).where('used_at', 'is', null).execute();
      const expires = toDbTime(new Date(clock().getTime() + CODE_MINUTES * 60_000));
      await t(tx).insertInto(table).values({ [owner]: ownerId, code_hash: hash(ownerId, code), attempts: 0, expires_at: expires, used_at: null, created_at: now } as never).execute();
      return code;
    },

    /** Checks a typed code; a wrong try counts, and of two racing uses only one succeeds. */
    async verify(tx: Transaction<Database>, ownerId: number, code: string): Promise<CodeCheck> {
      const current = await t(tx).selectFrom(table).selectAll().where(owner, '=', ownerId).where('used_at', 'is', null).orderBy('id', 'desc').executeTakeFirst();
      if (!current) return { ok: false, reason: 'wrong' };
      if (current.expires_at <= toDbTime(clock())) return { ok: false, reason: 'expired' };
      if (current.attempts >= CODE_ATTEMPTS) return { ok: false, reason: 'locked' };
      if (!timingSafeEqual(Buffer.from(hash(ownerId, code)), Buffer.from(current.code_hash))) {
        await t(tx).updateTable(table).set({ attempts: current.attempts + 1 }).where('id', '=', current.id).execute();
        return { ok: false, reason: current.attempts + 1 >= CODE_ATTEMPTS ? 'locked' : 'wrong' };
      }
      const used = await t(tx).updateTable(table).set({ used_at: toDbTime(clock()) }).where('id', '=', current.id).where('used_at', 'is', null).executeTakeFirst();
      return Number(used.numUpdatedRows) === 1 ? { ok: true } : { ok: false, reason: 'wrong' };
    },
  };
}
