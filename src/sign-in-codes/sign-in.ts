import type { Transaction } from 'kysely';
import type { Db } from '../db/database.js';
import { toDbTime } from '../db/dialect.js';
import type { CodeOwnerKind, Database } from '../db/schema.js';
import { queueMessage } from '../notifications/outbox.js';
import { CODE_MINUTES, createOneTimeCodes, type CodeRefusal } from './codes.js';

export type CodeSignInCheck = { ok: true; id: number } | CodeRefusal;

export interface CodeSignInDeps {
  db: Db;
  secret: string;
  clock: () => Date;
}

/** What differs between kinds of people who sign in with a code alone (customers, affiliates). */
export interface CodeSignInParts<Key, Owner extends { id: number }> {
  kind: CodeOwnerKind;
  /** The person the typed key (contact, email) names, if they may sign in. */
  find: (tx: Transaction<Database>, key: Key) => Promise<Owner | undefined>;
  /** Sends the code to the person's own contact detail, through the outbox in the same transaction. */
  send: (tx: Transaction<Database>, owner: Owner, code: string, now: string) => Promise<void>;
}

/**
 * Sign-in with a one-time code sent to the person's own contact detail. Asking for a code answers
 * 'unknown' for nobody we know, but callers answer the same way whatever happens, so nobody learns
 * who is a customer or an affiliate.
 */
export function createCodeSignIn<Key, Owner extends { id: number }>(
  { db, secret, clock }: CodeSignInDeps,
  parts: CodeSignInParts<Key, Owner>,
) {
  const codes = createOneTimeCodes(parts.kind, secret, clock);
  return {
    async requestCode(key: Key): Promise<'sent' | 'unknown' | 'rate-limited'> {
      return db.transaction().execute(async (tx) => {
        const owner = await parts.find(tx, key);
        if (!owner) return 'unknown';
        const code = await codes.issue(tx, owner.id);
        if (code === 'rate-limited') return 'rate-limited';
        await parts.send(tx, owner, code, toDbTime(clock()));
        return 'sent';
      });
    },

    /** Checks a code typed for a key; each wrong try counts, and the code is single use. */
    async verifyCode(key: Key, code: string): Promise<CodeSignInCheck> {
      return db.transaction().execute(async (tx) => {
        const owner = await parts.find(tx, key);
        if (!owner) return { ok: false, reason: 'wrong' };
        const result = await codes.verify(tx, owner.id, code);
        return result.ok ? { ok: true, id: owner.id } : result;
      });
    },
  };
}

/** The wording of an emailed code that differs between affiliates and operators. */
export interface CodeEmailText {
  subject: string;
  /** What the code signs in to: "your Shop affiliate dashboard". */
  signInTo: string;
  /** What to do if the person did not ask for it. */
  ifNotYou: string;
}

/** Emails a code to an affiliate or operator (customers' codes go by their own channel: customers/fulfilment.ts). */
export async function queueCodeEmail(
  tx: Transaction<Database>,
  recipient: string,
  text: CodeEmailText,
  code: string,
  now: string,
): Promise<void> {
  await queueMessage(
    tx,
    {
      channel: 'email',
      recipient,
      kind: 'transactional',
      subject: `${text.subject}: ${code}`,
      text: `Your code to sign in to ${text.signInTo} is ${code}.\n\nIt works once, for ${CODE_MINUTES} minutes. ${text.ifNotYou}\n`,
      secret: code,
    },
    now,
  );
}
