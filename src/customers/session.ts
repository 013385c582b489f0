import type { Request, RequestHandler } from 'express';
import type { SessionData } from 'express-session';
import '../web/session-data.js';
import { flashNow } from '../web/flash.js';
import { giveSessionToken, markIdentity } from '../web/security.js';

const IDLE_MINUTES = 60;
const ABSOLUTE_HOURS = 12;
/** lastSeenAt is written at most this often, so browsing does not rewrite the session each time. */
const SEEN_EVERY_MS = 60_000;

/**
 * A fresh session id on signing in (no fixation): everything the session held comes along (the
 * basket, the browser's orders, another sign-in) except the CSRF token, then `fields` are set
 * and the session gets a new CSRF token of its own.
 */
export function regenerateSession(req: Request, fields: Partial<SessionData>): Promise<void> {
  // The CSRF token is not kept: a new session gets a new one.
  const { cookie: _cookie, csrfToken: _csrf, ...kept } = req.session;
  return new Promise((resolve, reject) =>
    req.session.regenerate((error) => {
      if (error) return reject(error);
      Object.assign(req.session, kept, fields);
      markIdentity(req);
      // Its own CSRF token from the start: a form token from before sign-in is worth nothing now.
      giveSessionToken(req);
      req.session.save((saveError) => (saveError ? reject(saveError) : resolve()));
    }),
  );
}

export function signInSession(req: Request, customerId: number, now: Date): Promise<void> {
  // The contact a code was asked for is done with: a session still holding it would have every
  // catalogue page rendered for it alone (visitor-page-cache.ts shares pages only with sessions holding a basket and a sign-in).
  delete (req.session as Partial<SessionData>).signInContact;
  return regenerateSession(req, { customerId, signedInAt: now.getTime(), lastSeenAt: now.getTime() });
}

export function signOutSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.destroy((error) => (error ? reject(error) : resolve())));
}

/**
 * What the time-outs make of a session now: no customer in it, a customer still signed in (seen
 * recently enough that nothing is written), one whose lastSeenAt is due to be written, or one
 * signed out after an hour without a visit or twelve hours in all.
 */
export function customerSessionState(session: Partial<SessionData>, now: number): 'none' | 'current' | 'seen' | 'expired' {
  if (session.customerId === undefined) return 'none';
  const lastSeenAt = session.lastSeenAt ?? 0;
  if (now - (session.signedInAt ?? 0) > ABSOLUTE_HOURS * 3600_000 || now - lastSeenAt > IDLE_MINUTES * 60_000) return 'expired';
  return now - lastSeenAt > SEEN_EVERY_MS ? 'seen' : 'current';
}

/** Signs the customer out after an hour without a visit or twelve hours in all; the basket stays. */
export function customerTimeouts(clock: () => Date): RequestHandler {
  return (req, res, next) => {
    const session = req.session;
    if (session) {
      const now = clock().getTime();
      const state = customerSessionState(session, now);
      if (state === 'expired') {
        delete (session as Partial<typeof session>).customerId;
        flashNow(res, 'info', 'You were signed out after a while without activity. Please sign in again.');
      } else if (state === 'seen') {
        session.lastSeenAt = now;
      }
    }
    res.locals.signedIn = session?.customerId !== undefined;
    next();
  };
}

export function customerIdOf(req: Request): number | undefined {
  return req.session?.customerId;
}
