import type { Db } from '../../db/database.js';
import { toDbTime } from '../../db/dialect.js';
import { createOneTimeCodes } from '../../sign-in-codes/codes.js';
import { queueCodeEmail, type CodeSignInCheck } from '../../sign-in-codes/sign-in.js';
import { recordAudit } from '../audit.js';
import { claimUnlocked, findOperator, findOperatorByEmail, normaliseOperatorEmail, recordFailure, recordSignIn } from './operators.js';
import { decoyHash, MAX_PASSWORD_LENGTH, verifyPassword } from './passwords.js';

/** Failed passwords or codes in a row before an operator is locked out, and for how long. */
export const LOCKOUT_FAILURES = 5;
export const LOCKOUT_MINUTES = 15;

export type PasswordCheck = { ok: true; operatorId: number } | { ok: false };
export type OperatorCodeCheck = CodeSignInCheck;

/**
 * Operators sign in in two steps: email and password, then a one-time code sent to their email
 * (src/sign-in-codes/). Every failure counts towards a lockout on the operator row; a wrong email,
 * a wrong password and a locked account get the same answer, after the same scrypt work, so
 * nobody learns which emails are operators.
 */
export function createOperatorSignIn({ db, secret, clock, storeName }: { db: Db; secret: string; clock: () => Date; storeName: string }) {
  const codes = createOneTimeCodes('operator', secret, clock);
  const lockUntil = () => new Date(clock().getTime() + LOCKOUT_MINUTES * 60_000);
  const codeEmail = {
    subject: `Your ${storeName} admin sign-in code`,
    signInTo: `the ${storeName} admin`,
    ifNotYou: 'If you did not just type your password, someone else knows it: change it and tell the other operators.',
  };

  return {
    /** Checks email and password; when right (and not locked), emails a code. */
    async checkPassword(typedEmail: string, password: string): Promise<PasswordCheck> {
      const email = normaliseOperatorEmail(typedEmail);
      const operator = email ? await findOperatorByEmail(db, email) : undefined;
      const matches = await verifyPassword(password.slice(0, MAX_PASSWORD_LENGTH), operator?.password_hash ?? (await decoyHash()));
      if (!operator) return { ok: false };
      const now = clock();
      return db.transaction().execute(async (tx) => {
        if (!matches) {
          const outcome = await recordFailure(tx, operator.id, LOCKOUT_FAILURES, lockUntil(), now);
          if (outcome !== 'already-locked')
            await recordAudit(
              tx,
              { operatorId: operator.id, action: outcome === 'locked' ? 'operator.locked' : 'operator.wrong_password' },
              now,
            );
          return { ok: false };
        }
        // Decided by the conditional UPDATE, not by the row read before the (slow) password hash:
        // a burst of wrong passwords may have locked the operator meanwhile.
        if (!(await claimUnlocked(tx, operator.id, now))) return { ok: false };
        const code = await codes.issue(tx, operator.id);
        // Past the allowance of codes, the code already sent still works.
        if (code !== 'rate-limited') await queueCodeEmail(tx, operator.email, codeEmail, code, toDbTime(now));
        return { ok: true, operatorId: operator.id };
      });
    },

    /** Checks the emailed code of an operator whose password was right; wrong codes count towards the lockout. */
    async verifyCode(operatorId: number, code: string): Promise<OperatorCodeCheck> {
      return db.transaction().execute(async (tx) => {
        const now = clock();
        const operator = await tx
          .selectFrom('operators')
          .select(['id', 'active', 'locked_until'])
          .where('id', '=', operatorId)
          .executeTakeFirst();
        if (!operator || operator.active !== 1) return { ok: false, reason: 'wrong' };
        if (!(await claimUnlocked(tx, operatorId, now))) return { ok: false, reason: 'locked' };
        const result = await codes.verify(tx, operatorId, code);
        if (!result.ok) {
          const outcome = await recordFailure(tx, operatorId, LOCKOUT_FAILURES, lockUntil(), now);
          if (outcome !== 'already-locked')
            await recordAudit(tx, { operatorId, action: outcome === 'locked' ? 'operator.locked' : 'operator.wrong_code' }, now);
          return outcome === 'counted' ? result : { ok: false, reason: 'locked' };
        }
        await recordSignIn(tx, operatorId, now);
        await recordAudit(tx, { operatorId, action: 'operator.sign_in' }, now);
        return { ok: true, id: operator.id };
      });
    },

    findOperator: (id: number) => findOperator(db, id),
  };
}

export type OperatorSignIn = ReturnType<typeof createOperatorSignIn>;
