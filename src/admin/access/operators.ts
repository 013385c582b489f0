import type { ExpressionBuilder, Kysely, Transaction } from 'kysely';
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
        .values({
          email,
          password_hash: await hashPassword(input.password),
          failed_attempts: 0,
          locked_until: null,
          active: 1,
          last_sign_in_at: null,
          created_at: at,
          updated_at: at,
        })
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
  return db
    .selectFrom('operators')
    .select(['id', 'email', 'active', 'failed_attempts', 'locked_until', 'last_sign_in_at', 'created_at'])
    .orderBy('id')
    .execute();
}

/** Clears the failures and any lock; false when there is no such operator. */
export async function unlockOperator(db: Tx, email: string, now: Date): Promise<boolean> {
  const result = await db
    .updateTable('operators')
    .set({ failed_attempts: 0, locked_until: null, updated_at: toDbTime(now) })
    .where('email', '=', email)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

const notLocked = (now: Date) => (eb: ExpressionBuilder<Database, 'operators'>) =>
  eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', toDbTime(now))]);

/**
 * One more failure, counted by one UPDATE with the lock in its WHERE: 'already-locked' when the
 * operator was locked first (by a racing request, say). The failure that reaches `limit` locks the
 * operator until `lockUntil` and starts the count again, in a second conditional UPDATE of the row
 * this transaction now holds.
 */
export async function recordFailure(
  tx: Tx,
  id: number,
  limit: number,
  lockUntil: Date,
  now: Date,
): Promise<'counted' | 'locked' | 'already-locked'> {
  const at = toDbTime(now);
  const counted = await tx
    .updateTable('operators')
    .set((eb) => ({ failed_attempts: eb('failed_attempts', '+', 1), updated_at: at }))
    .where('id', '=', id)
    .where('active', '=', 1)
    .where(notLocked(now))
    .where('failed_attempts', '<', limit)
    .executeTakeFirst();
  if (Number(counted.numUpdatedRows) !== 1) return 'already-locked';
  const locked = await tx
    .updateTable('operators')
    .set({ failed_attempts: 0, locked_until: toDbTime(lockUntil), updated_at: at })
    .where('id', '=', id)
    .where('failed_attempts', '>=', limit)
    .executeTakeFirst();
  return Number(locked.numUpdatedRows) === 1 ? 'locked' : 'counted';
}

/**
 * Claims an active, unlocked operator's row for this transaction (on MySQL the UPDATE holds its
 * lock until commit, so a racing failure waits); false when the operator is locked or inactive.
 * Whatever a right password or code leads to happens only after this says yes.
 */
export async function claimUnlocked(tx: Tx, id: number, now: Date): Promise<boolean> {
  const claimed = await tx
    .updateTable('operators')
    .set({ updated_at: toDbTime(now) })
    .where('id', '=', id)
    .where('active', '=', 1)
    .where(notLocked(now))
    .executeTakeFirst();
  return Number(claimed.numUpdatedRows) === 1;
}

export async function recordSignIn(tx: Tx, id: number, now: Date): Promise<void> {
  await tx
    .updateTable('operators')
    .set({ failed_attempts: 0, locked_until: null, last_sign_in_at: toDbTime(now), updated_at: toDbTime(now) })
    .where('id', '=', id)
    .execute();
}
