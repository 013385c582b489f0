import { Router, type Response } from 'express';
import { rateLimit, type Store } from 'express-rate-limit';
import { z } from 'zod';
import { HttpError } from '../../web/errors.js';
import { parseBody } from '../../web/params.js';
import { recordAudit } from '../audit.js';
import type { AdminDeps } from '../deps.js';
import { operatorOf, pendingOperatorOf, signInOperator, signOutOperator, startPending } from './session.js';
import type { OperatorSignIn } from './sign-in.js';
import { LOCKOUT_MINUTES } from './sign-in.js';

/** One answer for a wrong email, a wrong password and a locked account: nobody learns which it was. */
const REFUSED = `That email and password did not work. After several failed tries the account is locked for ${LOCKOUT_MINUTES} minutes.`;
const CODE_MESSAGES = {
  wrong: 'That code is not right. Please check it and try again.',
  expired: 'That code has expired. Please sign in again for a new one.',
  locked: `Too many wrong tries. Please wait ${LOCKOUT_MINUTES} minutes and sign in again.`,
} as const;

/** Per-client limits (no address kept) on top of the lockout kept on the operator row. */
const perClientLimit = (max: number, minutes: number, store: Store | undefined) =>
  rateLimit({
    ...(store ? { store } : {}),
    windowMs: minutes * 60_000,
    limit: max,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    handler: (_req, _res, next) => next(new HttpError(429, 'Too many tries from here. Please wait a few minutes and try again.')),
  });

/** The sign-in pages (open to anyone: they reveal nothing) and the sign-out action. */
export function adminSignInRoutes(deps: AdminDeps, signIn: OperatorSignIn): Router {
  const { clock, config } = deps;
  const router = Router();
  const passwordLimit = perClientLimit(config.signInLimitPerClient, 15, deps.rateLimits?.store('admin-password'));
  const codeLimit = perClientLimit(config.signInLimitPerClient * 3, 15, deps.rateLimits?.store('admin-code'));

  const renderSignIn = (res: Response, status = 200, error?: string, email = '') =>
    res.status(status).render('admin/sign-in', { title: 'Operator sign-in', error, email });
  const renderCode = (res: Response, status = 200, error?: string) => res.status(status).render('admin/code', { title: 'Enter your code', error });

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

  router.get('/admin/sign-in/code', (req, res) => {
    if (pendingOperatorOf(req, clock) === undefined) return res.redirect(303, '/admin/sign-in');
    renderCode(res);
  });

  router.post('/admin/sign-in/code', codeLimit, async (req, res) => {
    const operatorId = pendingOperatorOf(req, clock);
    if (operatorId === undefined) return res.redirect(303, '/admin/sign-in');
    const { code } = parseBody(z.object({ code: z.string().trim().max(20) }), req.body);
    const digits = code.replace(/\s/g, '');
    const result = /^\d{6}$/.test(digits) ? await signIn.verifyCode(operatorId, digits) : ({ ok: false, reason: 'wrong' } as const);
    if (!result.ok) {
      if (result.reason !== 'wrong') {
        delete (req.session as Partial<typeof req.session>).operatorPendingId;
        return renderSignIn(res, 400, CODE_MESSAGES[result.reason]);
      }
      return renderCode(res, 400, CODE_MESSAGES.wrong);
    }
    await signInOperator(req, result.operator.id, clock());
    res.redirect(303, '/admin');
  });

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
