import type { RequestHandler } from 'express';
import helmet from 'helmet';
import { csrfSync } from 'csrf-sync';

/**
 * A Content-Security-Policy with no 'unsafe-inline': every script and style is a file from our own
 * origin, so injected markup cannot run. Upgrading requests only makes sense behind TLS.
 */
export function securityHeaders(options: { behindTls: boolean; formTargets: string[] }): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        mediaSrc: ["'self'"],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
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
 * Synchroniser-token CSRF protection: the token lives in the session and every state-changing
 * form posts it back as `_csrf` (or the `x-csrf-token` header for scripts).
 */
export function csrfProtection() {
  const { csrfSynchronisedProtection, generateToken } = csrfSync({
    getTokenFromRequest: (req) => (req.body as Record<string, string> | undefined)?._csrf ?? (req.headers['x-csrf-token'] as string | undefined),
    errorConfig: { statusCode: 403, message: 'This form has expired. Please go back, reload the page and try again.', code: 'EBADCSRFTOKEN' },
  });
  const exposeToken: RequestHandler = (req, res, next) => {
    // Lazily: only a page that renders a form creates a token (and so a session).
    res.locals.csrfToken = () => generateToken(req);
    next();
  };
  return { protect: csrfSynchronisedProtection, exposeToken };
}
