import type { Request, RequestHandler } from 'express';
import '../web/session-data.js';

const IDLE_MINUTES = 60;
const ABSOLUTE_HOURS = 12;
/** lastSeenAt is written at most this often, so browsing does not rewrite the session each time. */
const SEEN_EVERY_MS = 60_000;

/** A fresh session id on sign-in (no fixation); the basket and the browser's orders come along. */
export function signInSession(req: Request, customerId: number, now: Date): Promise<void> {
  const { basket, orderRefs } = req.session;
  return new Promise((resolve, reject) =>
    req.session.regenerate((error) => {
      if (error) return reject(error);
      Object.assign(req.session, { basket, orderRefs, customerId, signedInAt: now.getTime(), lastSeenAt: now.getTime() });
      req.session.save((saveError) => (saveError ? reject(saveError) : resolve()));
    }),
  );
}

export function signOutSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.destroy((error) => (error ? reject(error) : resolve())));
}

/** Signs the customer out after an hour without a visit or twelve hours in all; the basket stays. */
export function customerTimeouts(clock: () => Date): RequestHandler {
  return (req, res, next) => {
    const session = req.session;
    if (session?.customerId !== undefined) {
      const now = clock().getTime();
      const signedInAt = session.signedInAt ?? 0;
      const lastSeenAt = session.lastSeenAt ?? 0;
      const expired = now - signedInAt > ABSOLUTE_HOURS * 3600_000 || now - lastSeenAt > IDLE_MINUTES * 60_000;
      if (expired) {
        delete (session as Partial<typeof session>).customerId;
        res.locals.flash = [...(res.locals.flash ?? []), { kind: 'info', text: 'You were signed out after a while without activity. Please sign in again.' }];
      } else if (now - lastSeenAt > SEEN_EVERY_MS) {
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
