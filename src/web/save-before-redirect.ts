import type { RequestHandler, Response } from 'express';

/**
 * Saves a session that holds something before a redirect goes out.
 *
 * express-session saves a changed session when the response ends, but it sends the status line and
 * headers first: a browser follows a 303's Location at once, and with MySQL the next request could
 * read the session before the save had committed, so the page after "Add to basket" showed neither
 * the flash message nor, at worst, the new basket line (seen as flaky browser tests on MySQL).
 * Saving first closes that gap; express-session then sees nothing left to save.
 */
export const saveSessionBeforeRedirect: RequestHandler = (req, res, next) => {
  const redirect = res.redirect.bind(res) as (...args: unknown[]) => void;
  res.redirect = ((...args: unknown[]) => {
    const session = req.session as (typeof req.session & Record<string, unknown>) | undefined;
    // A visitor without a session keeps having none: only a session with data is written.
    if (!session || Object.keys(session).every((key) => key === 'cookie')) return redirect(...args);
    session.save((error) => (error ? next(error) : redirect(...args)));
  }) as Response['redirect'];
  next();
};
