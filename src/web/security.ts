import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import helmet from 'helmet';
import { csrfSync } from 'csrf-sync';

/**
 * A Content-Security-Policy with no 'unsafe-inline': every script and style is a file from our own
 * origin, so injected markup cannot run. Upgrading requests only makes sense behind TLS.
 */
export function securityHeaders(options: { behindTls: boolean; formTargets: string[]; analytics?: { script: string[]; connect: string[]; img: string[] } }): RequestHandler {
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
 * CSRF protection. A visitor with a session gets the synchroniser token pattern (csrf-sync): the
 * token lives in the session and every state-changing form posts it back as `_csrf` (or the
 * `x-csrf-token` header). A visitor without one (every first page view, every crawler) gets a
 * signed, expiring token instead, so that rendering an "Add to basket" form does not create a
 * session row. That token is accepted from a request that carries no session (there is nothing
 * for a forged request to ride on), or from one whose browser says it came from our own pages
 * (Sec-Fetch-Site or Origin): a form opened in another tab before the session began still works.
 */
export function csrfProtection(secret: string, clock: () => Date = () => new Date(), options: { startsNoSession?: string[] } = {}) {
  const startsNoSession = new Set(options.startsNoSession ?? []);
  const { csrfSynchronisedProtection, generateToken } = csrfSync({
    getTokenFromRequest: (req) => (req.body as Record<string, string> | undefined)?._csrf ?? (req.headers['x-csrf-token'] as string | undefined),
    errorConfig: { statusCode: 403, message: 'This form has expired. Please go back, reload the page and try again.', code: 'EBADCSRFTOKEN' },
  });
  const anonymous = anonymousTokens(secret, clock);
  const hasSession = (req: Request) => req.session?.csrfToken !== undefined;

  const exposeToken: RequestHandler = (req, res, next) => {
    res.locals.csrfToken = () => (hasSession(req) ? generateToken(req) : anonymous.issue());
    next();
  };
  const protect: RequestHandler = (req, res, next) => {
    // A repeated _csrf field arrives as an array: only a single string can be a token.
    const posted = (req.body as Record<string, unknown> | undefined)?._csrf;
    const token = typeof posted === 'string' ? posted : undefined;
    if (!SAFE_METHODS.has(req.method) && token && (!hasSession(req) || fromOurOwnPage(req)) && anonymous.verify(token)) {
      // From now on this visitor's session token applies; except where an answer must not start a
      // session (the cookie banner's: the policy lists `sid` for a basket or a sign-in only).
      if (!startsNoSession.has(req.path)) generateToken(req);
      return next();
    }
    csrfSynchronisedProtection(req, res, next);
  };
  return { protect, exposeToken };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function fromOurOwnPage(req: Request): boolean {
  const site = req.get('sec-fetch-site');
  if (site) return site === 'same-origin';
  const origin = req.get('origin');
  return !!origin && origin === `${req.protocol}://${req.get('host')}`;
}
const ANONYMOUS_TOKEN_SECONDS = 4 * 3600;
const ANONYMOUS_TOKEN_STEP = 600;

function anonymousTokens(secret: string, clock: () => Date) {
  const sign = (expires: string) => createHmac('sha256', secret).update(`csrf-anonymous:${expires}`).digest('base64url');
  return {
    /** The same token for every visitor within ten minutes, so a visitor's page can be cached and shared. */
    issue(): string {
      const nowSeconds = Math.floor(clock().getTime() / 1000);
      const expires = String(Math.ceil(nowSeconds / ANONYMOUS_TOKEN_STEP) * ANONYMOUS_TOKEN_STEP + ANONYMOUS_TOKEN_SECONDS);
      return `a.${expires}.${sign(expires)}`;
    },
    verify(token: string): boolean {
      const [kind, expires, signature] = token.split('.');
      if (kind !== 'a' || !expires || !signature || !/^\d{1,12}$/.test(expires)) return false;
      if (Number(expires) * 1000 < clock().getTime()) return false;
      const expected = Buffer.from(sign(expires));
      const given = Buffer.from(signature);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}
