import { sql, type ExpressionBuilder, type Kysely, type Transaction } from 'kysely';
import { dialectOf } from '../db/dialect.js';
import type { CodeOwnerKind, Database } from '../db/schema.js';

type Tx = Transaction<Database> | Kysely<Database>;

/** Whose codes: one person of one kind. */
export interface CodeOwner {
  kind: CodeOwnerKind;
  id: number;
}

const isOwner = (owner: CodeOwner) => (eb: ExpressionBuilder<Database, 'sign_in_codes'>) =>
  eb.and([eb('owner_kind', '=', owner.kind), eb('owner_id', '=', owner.id)]);
const ofOwner = (tx: Tx, owner: CodeOwner) => tx.selectFrom('sign_in_codes').where(isOwner(owner));

/**
 * Takes one code from the owner's allowance for the window, in one conditional UPDATE (the limit
 * in its WHERE; a window that has ended starts again at one): false when the allowance is used
 * up, however many requests race for it. The allowance is a row of rate_limits under a keyed hash
 * (no owner id in clear); the INSERT before makes sure the row exists and changes nothing if it does.
 */
export async function takeCodeAllowance(tx: Tx, keyHash: string, limit: number, now: string, windowEnd: string): Promise<boolean> {
  const row = tx.insertInto('rate_limits').values({ key_hash: keyHash, hits: 0, reset_at: windowEnd });
  await (
    dialectOf(tx) === 'mysql'
      ? row.onDuplicateKeyUpdate({ key_hash: sql`key_hash` })
      : row.onConflict((oc) => oc.column('key_hash').doNothing())
  ).execute();
  // hits before reset_at: MySQL evaluates assignments left to right, and both must see the old reset_at.
  const taken = await tx
    .updateTable('rate_limits')
    .set({
      hits: sql`case when reset_at <= ${now} then 1 else hits + 1 end`,
      reset_at: sql`case when reset_at <= ${now} then ${windowEnd} else reset_at end`,
    })
    .where('key_hash', '=', keyHash)
    .where((eb) => eb.or([eb('reset_at', '<=', now), eb('hits', '<', limit)]))
    .executeTakeFirst();
  return Number(taken.numUpdatedRows) === 1;
}

/** A new code replaces the old: the owner's unused codes expire now (used_at stays for codes that signed someone in). */
export async function retireCodes(tx: Tx, owner: CodeOwner, now: string): Promise<void> {
  await tx
    .updateTable('sign_in_codes')
    .set({ expires_at: now })
    .where(isOwner(owner))
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .execute();
}

export async function insertCode(tx: Tx, owner: CodeOwner, code: { hash: string; expiresAt: string }, now: string): Promise<void> {
  await tx
    .insertInto('sign_in_codes')
    .values({
      owner_kind: owner.kind,
      owner_id: owner.id,
      code_hash: code.hash,
      attempts: 0,
      expires_at: code.expiresAt,
      used_at: null,
      created_at: now,
    })
    .execute();
}

/** The owner's newest code, if any (a new code replaces the old: only the newest can sign in). */
export function currentCode(tx: Tx, owner: CodeOwner) {
  return ofOwner(tx, owner).selectAll().orderBy('id', 'desc').executeTakeFirst();
}

/** The code still open to a try: unused, unexpired and under the limit of wrong tries. */
const open = (codeId: number, maxAttempts: number, now: string) => (eb: ExpressionBuilder<Database, 'sign_in_codes'>) =>
  eb.and([eb('id', '=', codeId), eb('used_at', 'is', null), eb('expires_at', '>', now), eb('attempts', '<', maxAttempts)]);

/**
 * Counts one wrong try in one statement, the limit in its WHERE: false when the code was already
 * locked (or used, or expired), so racing tries can never count past the limit.
 */
export async function countWrongTry(tx: Tx, codeId: number, maxAttempts: number, now: string): Promise<boolean> {
  const counted = await tx
    .updateTable('sign_in_codes')
    .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
    .where(open(codeId, maxAttempts, now))
    .executeTakeFirst();
  return Number(counted.numUpdatedRows) === 1;
}

/** Wrong tries counted so far (read after this transaction's own update, which holds the row). */
export async function attemptsOf(tx: Tx, codeId: number): Promise<number> {
  const row = await tx.selectFrom('sign_in_codes').select('attempts').where('id', '=', codeId).executeTakeFirst();
  return row?.attempts ?? 0;
}

/** Marks the code used, in one statement that also checks the limit; false when it was used, locked or expired first. */
export async function useCode(tx: Tx, codeId: number, maxAttempts: number, now: string): Promise<boolean> {
  const used = await tx
    .updateTable('sign_in_codes')
    .set({ used_at: now })
    .where(open(codeId, maxAttempts, now))
    .executeTakeFirst();
  return Number(used.numUpdatedRows) === 1;
}

/** Every code of the owner, for erasure (no foreign key does it: see migrations/013_one_code_table.ts). */
export async function deleteCodes(tx: Tx, owner: CodeOwner): Promise<void> {
  await tx.deleteFrom('sign_in_codes').where(isOwner(owner)).execute();
}
