import { Router, type Response } from 'express';
import { z } from 'zod';
import { codeEntryHandlers, CODE_MESSAGES as SHARED_CODE_MESSAGES } from '../../sign-in-codes/routes.js';
import { perClientLimit } from '../../web/rate-limit-store.js';
import { parseBody } from '../../web/params.js';
import { recordAudit } from '../audit.js';
import type { AdminDeps } from '../deps.js';
import { operatorOf, pendingOperatorOf, signInOperator, signOutOperator, startPending } from './session.js';
import type { OperatorSignIn } from './sign-in.js';
import { LOCKOUT_MINUTES } from './sign-in.js';

/** One answer for a wrong email, a wrong password and a locked account: nobody learns which it was. */
const REFUSED = `That email and password did not work. After several failed tries the account is locked for ${LOCKOUT_MINUTES} minutes.`;
/** A code that expired or locked the operator out sends them back to the password, so it says so. */
const CODE_MESSAGES = {
  wrong: SHARED_CODE_MESSAGES.wrong,
  expired: 'That code has expired. Please sign in again for a new one.',
  locked: `Too many wrong tries. Please wait ${LOCKOUT_MINUTES} minutes and sign in again.`,
} as const;

/** The sign-in pages (open to anyone: they reveal nothing) and the sign-out action. */
export function adminSignInRoutes(deps: AdminDeps, signIn: OperatorSignIn): Router {
  const { clock, config } = deps;
  const router = Router();
  // Per-client limits (no address kept) on top of the lockout kept on the operator row.
  const passwordLimit = perClientLimit({ max: config.signInLimitPerClient, minutes: 15, store: deps.rateLimits.store('admin-password') });
  const codeLimit = perClientLimit({ max: config.signInLimitPerClient * 3, minutes: 15, store: deps.rateLimits.store('admin-code') });

  const renderSignIn = (res: Response, status = 200, error?: string, email = '') =>
    res.status(status).render('admin/sign-in', { title: 'Operator sign-in', error, email });
  const renderCode = (res: Response, status = 200, error?: string) =>
    res.status(status).render('admin/code', { title: 'Enter your code', error });
  const code = codeEntryHandlers<number>({
    pending: (req) => pendingOperatorOf(req, clock),
    startPath: '/admin/sign-in',
    verify: (operatorId, digits) => signIn.verifyCode(operatorId, digits),
    signIn: (req, operatorId) => signInOperator(req, operatorId, clock()),
    donePath: '/admin',
    render: (res, _operatorId, status, error) => renderCode(res, status, error),
    refuse: (req, res, _operatorId, reason) => {
      if (reason === 'wrong') return renderCode(res, 400, CODE_MESSAGES.wrong);
      delete (req.session as Partial<typeof req.session>).operatorPendingId;
      renderSignIn(res, 400, CODE_MESSAGES[reason]);
    },
  });

  router.get('/admin/sign-in', (req, res) => {
    if (req.session?.operatorId !== undefined) return res.redirect(303, '/admin');
    renderSignIn(res);
  });

  router.post('/admin/sign-in', passwordLimit, async (req, res) => {
    const { email, password } = parseBody(z.object({ email: z.string().max(300), password: z.string().max(1000) }), req.body);
    const result = await signIn.checkPassword(email, password);
    if (!result.ok) return renderSignIn(res, 400, REFUSED, email.slice(0, 254));
    startPending(req, result.operatorId, clock());
    res.redirect(303, '/admin/sign-in/code');
  });

  router.get('/admin/sign-in/code', code.show);
  router.post('/admin/sign-in/code', codeLimit, code.check);

  return router;
}

/** Behind the guard: signing out is an admin action like any other. */
export function adminSignOutRoutes({ db, clock }: AdminDeps): Router {
  const router = Router();
  router.post('/admin/sign-out', async (req, res) => {
    await recordAudit(db, { operatorId: operatorOf(req).id, action: 'operator.sign_out' }, clock());
    await signOutOperator(req);
    res.redirect(303, '/admin/sign-in');
  });
  return router;
}
