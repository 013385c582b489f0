import { createHash, randomBytes } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Db } from '../db/database.js';
import { toDbTime } from '../db/dialect.js';
import type { Database } from '../db/schema.js';
import { createCodeSignIn } from '../sign-in-codes/sign-in.js';
import { findCustomerByContact } from './repository.js';

type Tx = Transaction<Database> | Kysely<Database>;

const LINK_HOURS = 24;
/** A sign-in link's shorter address (/l/TOKEN, beside /account/link/TOKEN), so a text message with it fits one SMS. */
export const SHORT_LINK_PATH = '/l/';
const LINK_USES = 5;

export interface SignInDeps {
  db: Db;
  secret: string;
  clock: () => Date;
  /** Sends a code to a known customer (through the outbox, in the given transaction). */
  sendCode: (
    tx: Transaction<Database>,
    customer: { id: number; email: string | null; msisdn: string | null },
    code: string,
    now: string,
  ) => Promise<void>;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * Passwordless sign-in: a one-time code (src/sign-in-codes/) sent to the customer's own contact
 * detail, or a link from an order confirmation, kept only as a hash.
 */
export function createSignIn({ db, secret, clock, sendCode }: SignInDeps) {
  const codes = createCodeSignIn({ db, secret, clock }, { kind: 'customer', find: findCustomerByContact, send: sendCode });

  return {
    ...codes,

    /** A sign-in link for an order confirmation: valid for 24 hours and a few uses. */
    async createLink(tx: Tx, customerId: number, now: Date): Promise<string> {
      const token = randomBytes(32).toString('base64url');
      await tx
        .insertInto('sign_in_links')
        .values({
          customer_id: customerId,
          token_hash: sha256(token),
          uses_left: LINK_USES,
          expires_at: toDbTime(new Date(now.getTime() + LINK_HOURS * 3600_000)),
          created_at: toDbTime(now),
        })
        .execute();
      return token;
    },

    async useLink(token: string): Promise<{ ok: true; customerId: number } | { ok: false }> {
      if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return { ok: false };
      const tokenHash = sha256(token);
      return db.transaction().execute(async (tx) => {
        // One use taken by one UPDATE with the limit and the expiry in its WHERE: racing clicks on
        // a link with one use left sign in once, and none is refused while uses remain.
        const used = await tx
          .updateTable('sign_in_links')
          .set((eb) => ({ uses_left: eb('uses_left', '-', 1) }))
          .where('token_hash', '=', tokenHash)
          .where('uses_left', '>', 0)
          .where('expires_at', '>', toDbTime(clock()))
          .executeTakeFirst();
        if (Number(used.numUpdatedRows) !== 1) return { ok: false };
        const link = await tx
          .selectFrom('sign_in_links')
          .select('customer_id')
          .where('token_hash', '=', tokenHash)
          .executeTakeFirstOrThrow();
        return { ok: true, customerId: link.customer_id };
      });
    },
  };
}

export type SignIn = ReturnType<typeof createSignIn>;
