import express, { Router } from 'express';
import { z } from 'zod';
import type { Db } from '../db/database.js';
import { fromDbTime } from '../db/dialect.js';
import { customerIdOf } from '../customers/session.js';
import { flash } from '../web/flash.js';
import { parseBody } from '../web/params.js';
import { marketingChoice, setMarketingChoice, verifyUnsubscribeToken } from './marketing.js';

interface Deps {
  db: Db;
  secret: string;
  clock: () => Date;
}

/**
 * POST /unsubscribe/:token: the RFC 8058 one-click unsubscribe a mail client sends
 * (`List-Unsubscribe=One-Click`), and the confirm button on the page. The signed token is the
 * proof, so it comes before sessions and CSRF: a mail client has neither.
 */
export function unsubscribePostRoute({ db, secret, clock }: Deps): Router {
  const router = Router();
  router.post('/unsubscribe/:token', express.urlencoded({ extended: false, limit: '2kb' }), async (req, res) => {
    const customerId = verifyUnsubscribeToken(secret, String(req.params.token));
    if (customerId === null)
      return res.status(400).render('privacy/unsubscribe', { title: 'Unsubscribe', robots: 'noindex', state: 'invalid' });
    await setMarketingChoice(db, customerId, false, clock());
    res.render('privacy/unsubscribe', { title: 'Unsubscribed', robots: 'noindex', state: 'done' });
  });
  return router;
}

export function marketingRoutes({ db, secret, clock }: Deps): Router {
  const router = Router();

  router.get('/unsubscribe/:token', async (req, res) => {
    res.set('Referrer-Policy', 'no-referrer');
    const customerId = verifyUnsubscribeToken(secret, String(req.params.token));
    if (customerId === null)
      return res.status(404).render('privacy/unsubscribe', { title: 'Unsubscribe', robots: 'noindex', state: 'invalid' });
    const choice = await marketingChoice(db, customerId);
    res.render('privacy/unsubscribe', {
      title: 'Unsubscribe',
      robots: 'noindex',
      state: choice?.marketing_opt_in === 1 ? 'confirm' : 'already',
      action: req.originalUrl.split('?')[0],
    });
  });

  router.get('/account/preferences', async (req, res) => {
    const customerId = customerIdOf(req);
    if (customerId === undefined) return res.redirect(303, '/account');
    const choice = await marketingChoice(db, customerId);
    res.render('account/preferences', {
      title: 'Your preferences',
      robots: 'noindex',
      optedIn: choice?.marketing_opt_in === 1,
      choiceAt: choice?.marketing_choice_at ? fromDbTime(choice.marketing_choice_at).toISOString() : null,
    });
  });

  router.post('/account/preferences', async (req, res) => {
    const customerId = customerIdOf(req);
    if (customerId === undefined) return res.redirect(303, '/account');
    const { marketing } = parseBody(z.object({ marketing: z.literal('yes').optional() }), req.body);
    await setMarketingChoice(db, customerId, marketing === 'yes', clock());
    flash(req, 'info', marketing === 'yes' ? 'Thank you: we will send you news now and then.' : 'Done: we will send you no marketing.');
    res.redirect(303, '/account/preferences');
  });

  return router;
}
