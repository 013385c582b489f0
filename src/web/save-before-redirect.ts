import type { Request, RequestHandler, Response } from 'express';

/**
 * Saves a session the request changed before a redirect goes out.
 *
 * express-session saves a changed session when the response ends, but it sends the status line and
 * headers first: a browser follows a 303's Location at once, and with MySQL the next request could
 * read the session before the save had committed, so the page after "Add to basket" showed neither
 * the flash message nor, at worst, the new basket line (seen as flaky browser tests on MySQL).
 * Saving first closes that gap; express-session then sees nothing left to save.
 *
 * express-session keeps its own "was it modified" check private, so this middleware (mounted right
 * after it) takes the same fingerprint when the session has just loaded: its id and its data without
 * the cookie. An unchanged session is not written again, and a visitor without a session keeps none.
 */
export const saveSessionBeforeRedirect: RequestHandler = (req, res, next) => {
  const loaded = fingerprint(req);
  const redirect = res.redirect.bind(res) as (...args: unknown[]) => void;
  res.redirect = ((...args: unknown[]) => {
    if (!req.session || fingerprint(req) === loaded) return redirect(...args);
    req.session.save((error) => (error ? next(error) : redirect(...args)));
  }) as Response['redirect'];
  next();
};

/** What express-session compares too: the session id and the data, leaving out the cookie. */
function fingerprint(req: Request): string {
  const { cookie: _cookie, ...data } = (req.session ?? {}) as unknown as Record<string, unknown>;
  return `${req.sessionID}:${JSON.stringify(data)}`;
}
