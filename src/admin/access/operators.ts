import type { Kysely, Transaction } from 'kysely';
import type { Db } from '../../db/database.js';
import { insertedId, isDuplicateKeyError, toDbTime } from '../../db/dialect.js';
import type { Database } from '../../db/schema.js';
import { hashPassword, passwordProblem } from './passwords.js';

type Tx = Transaction<Database> | Kysely<Database>;

const EMAIL = /^[^\s@<>()",;:]+@[^\s@<>()",;:]+\.[^\s@<>()",;:]+$/;

export class OperatorError extends Error {}

export function normaliseOperatorEmail(typed: string): string | null {
  const email = typed.trim().toLowerCase();
  return EMAIL.test(email) && email.length <= 254 ? email : null;
}

/** Adds an operator (the `npx store operator add` command, and tests through it). */
export async function addOperator(db: Db, input: { email: string; password: string }, now: Date): Promise<number> {
  const email = normaliseOperatorEmail(input.email);
  if (!email) throw new OperatorError('--email must be an email address');
  const problem = passwordProblem(input.password);
  if (problem) throw new OperatorError(problem);
  const at = toDbTime(now);
  try {
    return insertedId(
      await db
        .insertInto('operators')
        .values({ email, password_hash: await hashPassword(input.password), failed_attempts: 0, locked_until: null, active: 1, last_sign_in_at: null, created_at: at, updated_at: at })
        .executeTakeFirstOrThrow(),
    );
  } catch (error) {
    if (isDuplicateKeyError(error)) throw new OperatorError(`an operator with the email ${email} already exists`);
    throw error;
  }
}

export async function findOperatorByEmail(db: Tx, email: string) {
  return db.selectFrom('operators').selectAll().where('email', '=', email).executeTakeFirst();
}

export async function findOperator(db: Tx, id: number) {
  return db.selectFrom('operators').select(['id', 'email', 'active']).where('id', '=', id).executeTakeFirst();
}

export async function listOperators(db: Tx) {
  return db.selectFrom('operators').select(['id', 'email', 'active', 'failed_attempts', 'locked_until', 'last_sign_in_at', 'created_at']).orderBy('id').execute();
}

/** Clears the failures and any lock; false when there is no such operator. */
export async function unlockOperator(db: Tx, email: string, now: Date): Promise<boolean> {
  const result = await db.updateTable('operators').set({ failed_attempts: 0, locked_until: null, updated_at: toDbTime(now) }).where('email', '=', email).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** One more failure; at `limit` the operator is locked until `lockUntil` and the count starts again. */
export async function recordFailure(tx: Tx, id: number, limit: number, lockUntil: Date, now: Date): Promise<'counted' | 'locked'> {
  const row = await tx.selectFrom('operators').select('failed_attempts').where('id', '=', id).executeTakeFirstOrThrow();
  const failures = row.failed_attempts + 1;
  const locked = failures >= limit;
  await tx
    .updateTable('operators')
    .set({ failed_attempts: locked ? 0 : failures, ...(locked ? { locked_until: toDbTime(lockUntil) } : {}), updated_at: toDbTime(now) })
    .where('id', '=', id)
    .execute();
  return locked ? 'locked' : 'counted';
}

export async function recordSignIn(tx: Tx, id: number, now: Date): Promise<void> {
  await tx.updateTable('operators').set({ failed_attempts: 0, locked_until: null, last_sign_in_at: toDbTime(now), updated_at: toDbTime(now) }).where('id', '=', id).execute();
}
