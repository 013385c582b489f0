import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Db } from '../db/database.js';
import { toDbTime } from '../db/dialect.js';
import type { Database } from '../db/schema.js';
import { findCustomerByContact, type Contact } from './repository.js';

type Tx = Transaction<Database> | Kysely<Database>;

const CODE_MINUTES = 10;
const CODE_ATTEMPTS = 5;
/** Texts cost money: at most this many codes per contact per window. */
const CODES_PER_WINDOW = 3;
const CODE_WINDOW_MINUTES = 15;
const LINK_HOURS = 24;
const LINK_USES = 5;

export type CodeCheck = { ok: true; customerId: number } | { ok: false; reason: 'wrong' | 'expired' | 'locked' };

export interface SignInDeps {
  db: Db;
  secret: string;
  clock: () => Date;
  /** Sends a code to a known customer (through the outbox, in the given transaction). */
  sendCode: (tx: Transaction<Database>, customer: { id: number; email: string | null; msisdn: string | null }, code: string, now: string) => Promise<void>;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * Passwordless sign-in: a 6-digit code sent to the customer's own contact detail, or a link from
 * an order confirmation. Codes and link tokens are kept only as hashes.
 */
export function createSignIn({ db, secret, clock, sendCode }: SignInDeps) {
  // Keyed by the server's secret: a copy of the database alone cannot test 6-digit guesses.
  const codeHash = (customerId: number, code: string) => createHmac('sha256', secret).update(`${customerId}:${code}`).digest('hex');
  const minutesAgo = (minutes: number) => toDbTime(new Date(clock().getTime() - minutes * 60_000));

  return {
    /**
     * Sends a code if the contact belongs to a customer and the contact's allowance is not used up.
     * The caller answers the same way whatever happens here, so nobody learns who is a customer.
     */
    async requestCode(contact: Contact): Promise<'sent' | 'unknown' | 'rate-limited'> {
      return db.transaction().execute(async (tx) => {
        const customer = await findCustomerByContact(tx, contact);
        if (!customer) return 'unknown';
        const recent = await tx
          .selectFrom('sign_in_codes')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('customer_id', '=', customer.id)
          .where('created_at', '>', minutesAgo(CODE_WINDOW_MINUTES))
          .executeTakeFirstOrThrow();
        if (Number(recent.n) >= CODES_PER_WINDOW) return 'rate-limited';
        const now = toDbTime(clock());
        const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
        // A new code replaces any older one still waiting.
        await tx.updateTable('sign_in_codes').set({ used_at: now }).where('customer_id', '=', customer.id).where('used_at', 'is', null).execute();
        await tx
          .insertInto('sign_in_codes')
          .values({ customer_id: customer.id, code_hash: codeHash(customer.id, code), attempts: 0, expires_at: toDbTime(new Date(clock().getTime() + CODE_MINUTES * 60_000)), used_at: null, created_at: now })
          .execute();
        await sendCode(tx, customer, code, now);
        return 'sent';
      });
    },

    /** Checks a code typed for a contact; each wrong try counts, and the code is single use. */
    async verifyCode(contact: Contact, code: string): Promise<CodeCheck> {
      return db.transaction().execute(async (tx) => {
        const customer = await findCustomerByContact(tx, contact);
        if (!customer) return { ok: false, reason: 'wrong' };
        const current = await tx.selectFrom('sign_in_codes').selectAll().where('customer_id', '=', customer.id).where('used_at', 'is', null).orderBy('id', 'desc').executeTakeFirst();
        if (!current) return { ok: false, reason: 'wrong' };
        if (current.expires_at <= toDbTime(clock())) return { ok: false, reason: 'expired' };
        if (current.attempts >= CODE_ATTEMPTS) return { ok: false, reason: 'locked' };
        const matches = timingSafeEqual(Buffer.from(codeHash(customer.id, code)), Buffer.from(current.code_hash));
        if (!matches) {
          await tx.updateTable('sign_in_codes').set({ attempts: current.attempts + 1 }).where('id', '=', current.id).execute();
          return { ok: false, reason: current.attempts + 1 >= CODE_ATTEMPTS ? 'locked' : 'wrong' };
        }
        // Conditional: of two racing uses of one code, only one signs in.
        const used = await tx.updateTable('sign_in_codes').set({ used_at: toDbTime(clock()) }).where('id', '=', current.id).where('used_at', 'is', null).executeTakeFirst();
        return Number(used.numUpdatedRows) === 1 ? { ok: true, customerId: customer.id } : { ok: false, reason: 'wrong' };
      });
    },

    /** A sign-in link for an order confirmation: valid for 24 hours and a few uses. */
    async createLink(tx: Tx, customerId: number, now: Date): Promise<string> {
      const token = randomBytes(32).toString('base64url');
      await tx
        .insertInto('sign_in_links')
        .values({ customer_id: customerId, token_hash: sha256(token), uses_left: LINK_USES, expires_at: toDbTime(new Date(now.getTime() + LINK_HOURS * 3600_000)), created_at: toDbTime(now) })
        .execute();
      return token;
    },

    async useLink(token: string): Promise<{ ok: true; customerId: number } | { ok: false }> {
      if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return { ok: false };
      return db.transaction().execute(async (tx) => {
        const link = await tx.selectFrom('sign_in_links').selectAll().where('token_hash', '=', sha256(token)).executeTakeFirst();
        if (!link || link.expires_at <= toDbTime(clock())) return { ok: false };
        const used = await tx.updateTable('sign_in_links').set({ uses_left: link.uses_left - 1 }).where('id', '=', link.id).where('uses_left', '=', link.uses_left).where('uses_left', '>', 0).executeTakeFirst();
        return Number(used.numUpdatedRows) === 1 ? { ok: true, customerId: link.customer_id } : { ok: false };
      });
    },
  };
}

export type SignIn = ReturnType<typeof createSignIn>;
