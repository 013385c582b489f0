import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';
import { csrfSync } from 'csrf-sync';
import { VISITOR_TOKEN_COOKIE } from '../privacy/cookies.js';
import { HttpError } from './errors.js';

/**
 * A Content-Security-Policy with no 'unsafe-inline': every script and style is a file from our own
 * origin, so injected markup cannot run. Upgrading requests only makes sense behind TLS.
 */
export function securityHeaders(options: {
  behindTls: boolean;
  formTargets: string[];
  analytics?: { script: string[]; connect: string[]; img: string[] };
}): RequestHandler {
  const analytics = options.analytics ?? { script: [], connect: [], img: [] };
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", ...analytics.script],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:', ...analytics.img],
        mediaSrc: ["'self'"],
        fontSrc: ["'self'"],
        connectSrc: ["'self'", ...analytics.connect],
        // Checkout forms end in a redirect to the payment provider, which form-action also governs.
        formAction: ["'self'", ...options.formTargets],
        frameAncestors: ["'none'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        upgradeInsecureRequests: options.behindTls ? [] : null,
      },
    },
    strictTransportSecurity: options.behindTls,
  });
}

/**
 * CSRF protection, bound to the visitor (docs/security.md):
 *
 * - A request that carries a session (a basket, a customer, an affiliate or an operator signed in)
 *   is checked against that session's own synchroniser token (csrf-sync) and nothing else. A session
 *   gets its token when it is made (sign-in regenerates it with one: giveSessionToken) or, for a
 *   visitor whose first form made it, in the same request that saved it.
 * - A visitor without a session gets a signed double-submit token: a random value in the `csrf`
 *   cookie (set when a form is first rendered for them) and, in the form, its HMAC under the session
 *   secret. Another visitor's token is useless without that visitor's cookie, and rendering a form
 *   creates no session row.
 * - Whatever the token, a state-changing request that the browser says comes from another site
 *   (Sec-Fetch-Site: cross-site, or without that header an Origin that is not ours) is refused.
 *   Routes that prove their sender otherwise (provider notifications, the one-click unsubscribe,
 *   Twilio's STOP) are mounted before this check (src/app.ts).
 */
export function csrfProtection(secret: string, options: { publicUrl?: string | null; visitor?: VisitorTokens } = {}) {
  const { csrfSynchronisedProtection, generateToken } = csrfSync({
    getTokenFromRequest: (req) => {
      // A repeated _csrf field arrives as an array: only a single string can be a token.
      const posted = (req.body as Record<string, unknown> | undefined)?._csrf;
      return typeof posted === 'string' ? posted : (req.headers['x-csrf-token'] as string | undefined);
    },
    errorConfig: { statusCode: 403, message: EXPIRED_FORM, code: 'EBADCSRFTOKEN' },
  });
  const visitor = options.visitor ?? visitorTokens(secret);
  const publicOrigin = options.publicUrl ? new URL(options.publicUrl).origin : undefined;

  const exposeToken: RequestHandler = (req, res, next) => {
    res.locals.csrfToken = () => (carriesSession(req) ? generateToken(req) : visitor.tokenFor(req, res));
    next();
  };
  const protect: RequestHandler = (req, res, next) => {
    if (SAFE_METHODS.has(req.method)) return next();
    if (fromAnotherSite(req, publicOrigin)) return next(new HttpError(403, EXPIRED_FORM));
    const posted = (req.body as Record<string, unknown> | undefined)?._csrf ?? req.headers['x-csrf-token'];
    const fromThisBrowser = typeof posted === 'string' && visitor.verify(req, posted);
    if (carriesSession(req)) {
      // A shopper's basket session also takes a form this same browser was given before the basket
      // began (another tab): that token is bound to this browser's own csrf cookie. A session with a
      // sign-in (or one being made) takes its own token only.
      if (fromThisBrowser && !holdsIdentity(req)) return next();
      return csrfSynchronisedProtection(req, res, next);
    }
    if (!fromThisBrowser) return next(new HttpError(403, EXPIRED_FORM));
    tokenOnFirstSave(req);
    next();
  };
  return { protect, exposeToken };
}

const EXPIRED_FORM = 'This form has expired. Please go back, reload the page and try again.';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** True when the request's session holds anything (a basket, a sign-in, a flash): then only its own token counts. */
export function carriesSession(req: Request): boolean {
  const session = req.session as unknown as Record<string, unknown> | undefined;
  return !!session && Object.keys(session).some((key) => key !== 'cookie');
}

/**
 * Marks the session as someone's: a customer, affiliate or operator signed in, or signing in. From
 * then on only the session's own token counts. regenerateSession (src/customers/session.ts), which
 * every sign-in goes through, sets it, so a new kind of sign-in cannot forget it; so do the pages
 * where a sign-in code is asked for. Nothing takes it away: a session that had it stays strict.
 */
export function markIdentity(req: Request): void {
  req.session.identity = true;
}

/** True when the session belongs to someone signed in (or typing their code): then only its own token counts. */
function holdsIdentity(req: Request): boolean {
  return req.session.identity === true;
}

/** A fresh synchroniser token for a session that was just made or regenerated (sign-in). */
export function giveSessionToken(req: Request): void {
  req.session.csrfToken = randomBytes(32).toString('hex');
}

/**
 * A visitor's request that puts something in a new session (the first "Add to basket") saves it
 * with its own token, so that from the next request on only that token is accepted.
 */
function tokenOnFirstSave(req: Request): void {
  const session = req.session;
  if (!session) return;
  const save = session.save.bind(session);
  session.save = (callback) => {
    if (carriesSession(req) && session.csrfToken === undefined) giveSessionToken(req);
    return save(callback);
  };
}

/** What the browser says about where a state-changing request comes from: Fetch Metadata, else Origin. */
function fromAnotherSite(req: Request, publicOrigin: string | undefined): boolean {
  const site = req.get('sec-fetch-site');
  if (site) return site === 'cross-site';
  const origin = req.get('origin');
  if (origin === undefined) return false; // an old browser or a script: the token alone decides
  return origin !== `${req.protocol}://${req.get('host')}` && origin !== publicOrigin;
}

/** The cookie that binds a visitor's token (listed in the privacy policy: src/privacy/cookies.ts). */
const NONCE = new RegExp(`(?:^|;\\s*)${VISITOR_TOKEN_COOKIE}=([A-Za-z0-9_-]{22})(?:;|$)`);

/**
 * Signed double-submit tokens for visitors without a session: the `csrf` cookie holds a random
 * value, the form holds `v.` and its HMAC. The cookie is made when a form is first rendered for
 * a visitor who has none, lasts until the browser closes, and is HttpOnly and SameSite=Lax.
 */
export function visitorTokens(secret: string) {
  const sign = (nonce: string) => createHmac('sha256', secret).update(`csrf-visitor:${nonce}`).digest('base64url');
  const nonceOf = (req: Request) => NONCE.exec(req.headers.cookie ?? '')?.[1];
  const made = new WeakMap<Request, string>();
  return {
    /** The token for this visitor's forms; sets their cookie if they have none yet. */
    tokenFor(req: Request, res: Response): string {
      let nonce = nonceOf(req) ?? made.get(req);
      if (nonce === undefined) {
        nonce = randomBytes(16).toString('base64url');
        made.set(req, nonce);
        res.cookie(VISITOR_TOKEN_COOKIE, nonce, { httpOnly: true, sameSite: 'lax', secure: req.secure, path: '/' });
      }
      return `v.${sign(nonce)}`;
    },
    verify(req: Request, token: string): boolean {
      const nonce = nonceOf(req);
      if (!nonce || !token.startsWith('v.')) return false;
      const expected = Buffer.from(sign(nonce));
      const given = Buffer.from(token.slice(2));
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}

export type VisitorTokens = ReturnType<typeof visitorTokens>;
