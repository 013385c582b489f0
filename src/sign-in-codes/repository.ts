import type { ExpressionBuilder, Kysely, Transaction } from 'kysely';
import type { CodeOwnerKind, Database } from '../db/schema.js';

type Tx = Transaction<Database> | Kysely<Database>;

/** Whose codes: one person of one kind. */
export interface CodeOwner {
  kind: CodeOwnerKind;
  id: number;
}

const isOwner = (owner: CodeOwner) => (eb: ExpressionBuilder<Database, 'sign_in_codes'>) => eb.and([eb('owner_kind', '=', owner.kind), eb('owner_id', '=', owner.id)]);
const ofOwner = (tx: Tx, owner: CodeOwner) => tx.selectFrom('sign_in_codes').where(isOwner(owner));

export async function countCodesSince(tx: Tx, owner: CodeOwner, since: string): Promise<number> {
  // A code that signed its owner in does not count: the allowance stops codes asked for and never
  // used, not an operator or customer who signs in several times within the window.
  const row = await ofOwner(tx, owner).select((eb) => eb.fn.countAll<number>().as('n')).where('created_at', '>', since).where('used_at', 'is', null).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** A new code replaces the old: the owner's unused codes expire now (used_at stays for codes that signed someone in). */
export async function retireCodes(tx: Tx, owner: CodeOwner, now: string): Promise<void> {
  await tx.updateTable('sign_in_codes').set({ expires_at: now }).where(isOwner(owner)).where('used_at', 'is', null).where('expires_at', '>', now).execute();
}

export async function insertCode(tx: Tx, owner: CodeOwner, code: { hash: string; expiresAt: string }, now: string): Promise<void> {
  await tx.insertInto('sign_in_codes').values({ owner_kind: owner.kind, owner_id: owner.id, code_hash: code.hash, attempts: 0, expires_at: code.expiresAt, used_at: null, created_at: now }).execute();
}

/** The owner's newest unused code, if any. */
export function currentCode(tx: Tx, owner: CodeOwner) {
  return ofOwner(tx, owner).selectAll().where('used_at', 'is', null).orderBy('id', 'desc').executeTakeFirst();
}

export async function countWrongTry(tx: Tx, codeId: number, attempts: number): Promise<void> {
  await tx.updateTable('sign_in_codes').set({ attempts }).where('id', '=', codeId).execute();
}

/** Marks the code used; false when another request used it first. */
export async function useCode(tx: Tx, codeId: number, now: string): Promise<boolean> {
  const used = await tx.updateTable('sign_in_codes').set({ used_at: now }).where('id', '=', codeId).where('used_at', 'is', null).executeTakeFirst();
  return Number(used.numUpdatedRows) === 1;
}

/** Every code of the owner, for erasure (no foreign key does it: see migrations/013_one_code_table.ts). */
export async function deleteCodes(tx: Tx, owner: CodeOwner): Promise<void> {
  await tx.deleteFrom('sign_in_codes').where(isOwner(owner)).execute();
}
