import { Router, type Request, type RequestHandler, type Response } from 'express';
import { PENDING_REFERRAL_PARAM, pendingReferral, withParam } from '../affiliates/referral.js';
import { parseAffiliateNumber } from '../affiliates/repository.js';
import { z } from 'zod';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import { toDbTime } from '../db/dialect.js';
import { contactText, parseContact } from '../customers/contact.js';
import { queueMessage } from '../notifications/outbox.js';
import { perClientLimit, type RateLimitStores } from '../web/rate-limit-store.js';
import { parseBody } from '../web/params.js';
import { CONSENT_COOKIE, consentNeeded, cookieMaxAge, storeCookies } from './cookies.js';

const MAX_MESSAGE = 5000;

/** The visitor's recorded cookie choice: 'yes', 'no', or undefined when they have not chosen. */
export function consentChoice(req: Request): 'yes' | 'no' | undefined {
  const value = new RegExp(`(?:^|;\\s*)${CONSENT_COOKIE.name}=(yes|no)(?:;|$)`).exec(req.headers.cookie ?? '')?.[1];
  return value as 'yes' | 'no' | undefined;
}

/** A same-site path to go back to: a single leading slash, no scheme or host, else the home page. */
export function sameSitePath(value: unknown): string {
  if (typeof value !== 'string' || value.length > 500) return '/';
  if (!/^\/(?![/\\])/.test(value) || /[\r\n\\]/.test(value)) return '/';
  return value;
}

/** What every page needs to show the cookie banner (only when a cookie waits for consent, and the visitor has not chosen). */
export function consentLocals(config: Pick<Config, 'affiliates' | 'gaMeasurementId'>): RequestHandler {
  const needed = consentNeeded(config);
  return (req, res, next) => {
    const choice = consentChoice(req);
    res.locals.consentNeeded = needed;
    res.locals.showConsentBanner = needed && choice === undefined && req.path !== '/consent';
    // A referral waiting for this answer (src/affiliates/referral.ts) goes with the banner's form.
    res.locals.pendingReferral = res.locals.showConsentBanner && config.affiliates.consent === 'required' ? pendingReferral(req) : null;
    // The analytics tag only for a visitor who accepted cookies; never an inline script (see the CSP).
    res.locals.analyticsId = choice === 'yes' ? config.gaMeasurementId : null;
    next();
  };
}

export interface PrivacyDeps {
  db: Db;
  config: Config;
  clock: () => Date;
  /** Counts in the database, so the contact limit holds across every app process. */
  rateLimits: RateLimitStores;
  /** Sets the `a` cookie for an active affiliate (src/affiliates/referral.ts): a referral held until the visitor accepted. */
  rememberReferral: (req: Request, res: Response, affiliateId: number) => Promise<void>;
}

export function privacyRoutes({ db, config, clock, rateLimits, rememberReferral }: PrivacyDeps): Router {
  const router = Router();
  const contactLimit = perClientLimit({
    max: config.contactLimitPerClient,
    minutes: 60,
    store: rateLimits.store('contact-form'),
    message: 'You have sent several messages already. Please wait an hour and try again, or write to us by email.',
  });

  router.get('/privacy', (_req, res) => {
    res.render('privacy/policy', {
      title: 'Privacy',
      privacy: config.privacy,
      cookies: storeCookies(config),
      consentNeeded: consentNeeded(config),
      affiliateCookieDays: config.affiliates.cookieDays,
      usageStats: config.usageStats,
    });
  });

  const renderContact = (res: import('express').Response, status = 200, error?: string, values = { contact: '', message: '' }) =>
    res.status(status).render('privacy/contact', { title: 'Contact', privacy: config.privacy, error, values, maxMessage: MAX_MESSAGE });

  router.get('/contact', (_req, res) => renderContact(res));

  router.post('/contact', contactLimit, async (req, res) => {
    const form = parseBody(z.object({ contact: z.string().max(300), message: z.string().max(MAX_MESSAGE * 2) }), req.body);
    const contact = parseContact(form.contact.trim());
    const message = form.message.trim();
    if (!contact) return renderContact(res, 400, 'Please give an email address or UK mobile number we can reply to.', form);
    if (message.length === 0) return renderContact(res, 400, 'Please write your message.', form);
    if (message.length > MAX_MESSAGE) return renderContact(res, 400, `Please keep your message under ${MAX_MESSAGE} characters.`, form);
    const now = toDbTime(clock());
    await queueMessage(
      db,
      {
        channel: 'email',
        recipient: config.privacy.infoOfficerEmail,
        kind: 'transactional',
        subject: `${config.storeName}: a message from the contact form`,
        text: `A message from the contact form on ${now} UTC.\n\nReply to: ${contactText(contact)}\n\n${message}\n`,
      },
      now,
    );
    res.status(200).render('privacy/contact-sent', { title: 'Message sent', privacy: config.privacy });
  });

  /** The banner's answer: the choice cookie, and (on accepting) the referral it held. No session: csrfProtection starts none here. */
  router.post('/consent', async (req, res) => {
    const form = parseBody(
      z.object({ choice: z.enum(['accept', 'decline']), back: z.string().max(500).optional(), referral: z.string().max(20).optional() }),
      req.body,
    );
    res.cookie(CONSENT_COOKIE.name, form.choice === 'accept' ? 'yes' : 'no', {
      httpOnly: true,
      sameSite: 'lax',
      secure: req.secure,
      path: '/',
      maxAge: cookieMaxAge({ affiliates: { ...config.affiliates, consent: 'required' } }, CONSENT_COOKIE.name),
    });
    const referral = parseAffiliateNumber(form.referral);
    if (form.choice === 'accept' && referral !== null && config.affiliates.consent === 'required')
      await rememberReferral(req, res, referral);
    res.redirect(303, withParam(sameSitePath(form.back), PENDING_REFERRAL_PARAM, null));
  });

  router.get('/cookies', (req, res) => {
    res.render('privacy/cookies', {
      title: 'Cookie choices',
      robots: 'noindex',
      cookies: storeCookies(config),
      choice: consentChoice(req),
      consentNeeded: consentNeeded(config),
    });
  });

  return router;
}
