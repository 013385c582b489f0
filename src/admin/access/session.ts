import type { Request, RequestHandler } from 'express';
import { regenerateSession } from '../../customers/session.js';
import { notFound } from '../../web/errors.js';
import { flash } from '../../web/flash.js';
import { markIdentity } from '../../web/security.js';
import '../../web/session-data.js';
import type { OperatorSignIn } from './sign-in.js';

/** What an operator's session holds (beside a customer's or affiliate's; see src/web/session-data.ts). */
declare module 'express-session' {
  interface SessionData {
    operatorId: number;
    operatorSignedInAt: number;
    operatorLastSeenAt: number;
    /** Between a right password and its code: whose code is being typed, and since when. */
    operatorPendingId: number;
    operatorPendingAt: number;
  }
}

/** Shorter than a customer's hour idle and twelve hours in all. */
export const ADMIN_IDLE_MINUTES = 15;
export const ADMIN_ABSOLUTE_HOURS = 4;
/** The code step must follow the password within this time. */
export const PENDING_MINUTES = 10;
const SEEN_EVERY_MS = 30_000;

export interface Operator {
  id: number;
  email: string;
}

const signedIn = new WeakMap<Request, Operator>();

/** The operator behind this request; only defined past requireOperator. */
export function operatorOf(req: Request): Operator {
  const operator = signedIn.get(req);
  if (!operator) throw new Error('operatorOf called outside the admin guard');
  return operator;
}

export function pendingOperatorOf(req: Request, clock: () => Date): number | undefined {
  const { operatorPendingId, operatorPendingAt } = req.session ?? {};
  if (operatorPendingId === undefined || clock().getTime() - (operatorPendingAt ?? 0) > PENDING_MINUTES * 60_000) return undefined;
  return operatorPendingId;
}

export function startPending(req: Request, operatorId: number, now: Date): void {
  req.session.operatorPendingId = operatorId;
  req.session.operatorPendingAt = now.getTime();
  markIdentity(req);
}

/** A fresh session id on signing in (no fixation), holding the operator. */
export function signInOperator(req: Request, operatorId: number, now: Date): Promise<void> {
  delete (req.session as Partial<typeof req.session>).operatorPendingId;
  delete (req.session as Partial<typeof req.session>).operatorPendingAt;
  return regenerateSession(req, { operatorId, operatorSignedInAt: now.getTime(), operatorLastSeenAt: now.getTime() });
}

/** Ends the whole session: an operator's browser keeps nothing of it. */
export function signOutOperator(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.destroy((error) => (error ? reject(error) : resolve())));
}

function forgetOperator(req: Request): void {
  const session = req.session as Partial<typeof req.session>;
  delete session.operatorId;
  delete session.operatorSignedInAt;
  delete session.operatorLastSeenAt;
}

/**
 * Lets only a signed-in, active operator through. Everyone else (no session, a customer, an
 * affiliate) gets the store's ordinary 404 page, so the admin area does not announce itself. An
 * operator whose session timed out is sent to sign in again.
 */
export function requireOperator(signIn: Pick<OperatorSignIn, 'findOperator'>, clock: () => Date): RequestHandler {
  return async (req, res, next) => {
    const session = req.session;
    if (session?.operatorId === undefined) return notFound(req, res, next);
    const now = clock().getTime();
    const expired =
      now - (session.operatorSignedInAt ?? 0) > ADMIN_ABSOLUTE_HOURS * 3600_000 ||
      now - (session.operatorLastSeenAt ?? 0) > ADMIN_IDLE_MINUTES * 60_000;
    if (expired) {
      forgetOperator(req);
      flash(req, 'info', 'You were signed out after a while without activity. Please sign in again.');
      return res.redirect(303, '/admin/sign-in');
    }
    const operator = await signIn.findOperator(session.operatorId);
    if (!operator || operator.active !== 1) {
      forgetOperator(req);
      return notFound(req, res, next);
    }
    if (now - (session.operatorLastSeenAt ?? 0) > SEEN_EVERY_MS) session.operatorLastSeenAt = now;
    signedIn.set(req, { id: operator.id, email: operator.email });
    res.locals.operator = { id: operator.id, email: operator.email };
    next();
  };
}
