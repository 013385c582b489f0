import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import type { SessionData } from 'express-session';
import { LRUCache } from 'lru-cache';
import type { DatabaseSessionStore } from '../db/session-store.js';
import './session-data.js';

/** A session as a peek hands it back: read-only, for filling in a page. */
export type PeekedSession = Readonly<Partial<SessionData>>;

/** What a peek needs: the session cookie's name and secret, the store, and the rules that may want to change a session. */
export interface SessionPeekDeps {
  cookieName: string;
  secret: string;
  store: Pick<DatabaseSessionStore, 'readLive' | 'wouldTouch'>;
  /** False when the session chain would change this session on a GET (a sign-in timed out, a lastSeenAt due): src/customers/session.ts. */
  isQuiet: (session: PeekedSession) => boolean;
}

/**
 * A GET's session read without express-session, for a page that can be answered before the session
 * chain (src/catalogue/visitor-page-cache.ts). The row is read from the database on every request,
 * exactly as the chain reads it, never kept: another process may have changed the basket or signed
 * the customer out a moment ago. It is handed back only when the chain would leave it as it is (no
 * save, no touch, no new cookie); an unknown or expired session, a sign-in timed out or due its
 * lastSeenAt, or a row due its extension gives undefined, and the request goes through the chain,
 * which does what is due.
 */
export function sessionPeek({ cookieName, secret, store, isQuiet }: SessionPeekDeps) {
  const sessionIdOf = signedSessionIds(cookieName, secret);
  return async (req: Request): Promise<PeekedSession | undefined> => {
    const sid = sessionIdOf(req);
    if (sid === undefined) return undefined;
    const live = await store.readLive(sid);
    if (!live || store.wouldTouch(live) || !isQuiet(live.data)) return undefined;
    return live.data;
  };
}

export type SessionPeek = ReturnType<typeof sessionPeek>;

/**
 * The session id in express-session's signed cookie (`s:` + id + `.` + HMAC-SHA256, URL-encoded),
 * or undefined for anything else. A cookie whose signature was checked once is remembered (the
 * check is a pure function of the value and the secret), so a shopper's every page does not pay
 * for the HMAC again; only cookies that verified are kept, so made-up ones cannot fill the memory.
 * Only the first cookie of that name counts, as for express-session; a form this does not take
 * (quoted, spaced) is left to express-session.
 */
export function signedSessionIds(cookieName: string, secret: string): (req: Request) => string | undefined {
  const first = new RegExp(`(?:^|;)[ \\t]*${cookieName}=([^;]*)`);
  const signed = /^s%3A([A-Za-z0-9_-]{1,64})\.((?:[A-Za-z0-9]|%2B|%2F){43,129})$/;
  const verified = new LRUCache<string, string>({ max: 10_000 });
  return (req) => {
    const raw = first.exec(req.headers.cookie ?? '')?.[1];
    if (raw === undefined) return undefined;
    const known = verified.get(raw);
    if (known !== undefined) return known;
    const [, sid, signature] = signed.exec(raw) ?? [];
    if (sid === undefined || signature === undefined) return undefined;
    const expected = Buffer.from(createHmac('sha256', secret).update(sid).digest('base64').replace(/=+$/, ''));
    const given = Buffer.from(signature.replaceAll('%2B', '+').replaceAll('%2F', '/'));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    verified.set(raw, sid);
    return sid;
  };
}
