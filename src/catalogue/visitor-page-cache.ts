import type { Request, RequestHandler, Response } from 'express';
import { createHash, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/** True when nothing in the page can differ from visitor to visitor: no basket, flash, sign-in or session token. */
function isVisitorWithoutSession(req: Request): boolean {
  const session = req.session as unknown as Record<string, unknown> | undefined;
  return !session || Object.keys(session).every((key) => key === 'cookie');
}

/** The cookie banner (and anything waiting for consent) differs with the visitor's consent cookie. */
const keyOf = (req: Request) => `${/(?:^|;\s*)consent=(yes|no)(?:;|$)/.exec(req.headers.cookie ?? '')?.[1] ?? '-'} ${req.originalUrl}`;

/** The weak ETag Express would give the same body (its format), so a revalidation still gets its 304. */
function weakEtag(body: string): string {
  return `W/"${Buffer.byteLength(body).toString(16)}-${createHash('sha1').update(body, 'utf8').digest('base64').slice(0, 27)}"`;
}

/**
 * What stands in a cached page for the visitor's own CSRF token: forms are rendered with it, and
 * each visitor's page gets their token (and, on a first visit, their `csrf` cookie) as it is sent,
 * so a page rendered for one visitor never carries a token another could use.
 */
const TOKEN_SLOT = `visitor-token-${randomBytes(12).toString('hex')}`;

/** A visitor's CSRF token for their forms, setting their cookie if need be (src/web/security.ts). */
export type VisitorToken = (req: Request, res: Response) => string;

function sendPage(req: Request, res: Response, page: { html: string; etag: string }, visitorToken: VisitorToken): void {
  const token = visitorToken(req, res);
  // The token is part of the page: a visitor's own ETag, so a revalidation is still answered 304.
  const etag = `${page.etag.slice(0, -1)}-${createHash('sha1').update(token).digest('base64url').slice(0, 10)}"`;
  res.set('ETag', etag).type('html').send(page.html.replaceAll(TOKEN_SLOT, token));
}

/**
 * Whole catalogue pages for visitors without a session (first visits, crawlers), kept for the
 * page-data lifetime: such a page depends only on its URL once each visitor's own form token is
 * filled in as it goes out. Anyone with a session always gets a page rendered for them.
 */
type VisitorPageCache = RequestHandler & { clear(): void; beforeSession(sessionCookie: string): RequestHandler };

const pass: RequestHandler = (_req, _res, next) => next();

export function visitorPageCache(ttlSeconds: number, clock: () => Date, visitorToken: VisitorToken): VisitorPageCache {
  if (ttlSeconds <= 0) return Object.assign<RequestHandler, Omit<VisitorPageCache, keyof RequestHandler>>(pass, { clear: () => {}, beforeSession: () => pass });
  // Each page with its ETag, worked out once rather than hashed again on every send.
  const pages = new LRUCache<string, { html: string; etag: string }>({ max: 1000, ttl: ttlSeconds * 1000, perf: { now: () => clock().getTime() } });
  const handler: RequestHandler = (req, res, next) => {
    if (req.method !== 'GET' || !isVisitorWithoutSession(req)) return next();
    const key = keyOf(req);
    const cached = pages.get(key);
    if (cached !== undefined) return sendPage(req, res, cached, visitorToken);
    res.locals.csrfToken = () => TOKEN_SLOT;
    const send = res.send.bind(res);
    res.send = (body?: unknown) => {
      res.send = send;
      // res.render sends with no Content-Type set yet: send() makes a string text/html.
      const type = res.getHeader('content-type');
      if (typeof body !== 'string' || (type !== undefined && !String(type).startsWith('text/html'))) return send(body);
      const page = { html: body, etag: weakEtag(body) };
      if (res.statusCode === 200 && !res.getHeader('set-cookie')) pages.set(key, page);
      if (!body.includes(TOKEN_SLOT)) return send(body);
      return sendPage(req, res, page, visitorToken), res;
    };
    next();
  };
  /**
   * The same pages, served before the session middleware to a GET without a session cookie: such a
   * visitor can only ever be given the shared page, so loading a session (a random id, a hash)
   * and the rest of the chain for it is skipped. A miss goes on through the whole chain.
   */
  const beforeSession = (sessionCookie: string): RequestHandler => {
    const hasSession = new RegExp(`(?:^|;)\\s*${sessionCookie}=`);
    return (req, res, next) => {
      if (req.method !== 'GET' || hasSession.test(req.headers.cookie ?? '')) return next();
      const cached = pages.get(keyOf(req));
      if (cached === undefined) return next();
      sendPage(req, res, cached, visitorToken);
    };
  };
  // clear(): an operator's catalogue edit shows at once in this process.
  return Object.assign(handler, { clear: () => pages.clear(), beforeSession });
}
