import type { Request, RequestHandler } from 'express';
import { LRUCache } from 'lru-cache';

/** True when nothing in the page can differ from visitor to visitor: no basket, flash, sign-in or session token. */
function isVisitorWithoutSession(req: Request): boolean {
  const session = req.session as unknown as Record<string, unknown> | undefined;
  return !session || Object.keys(session).every((key) => key === 'cookie');
}

/**
 * Whole catalogue pages for visitors without a session (first visits, crawlers), kept for the
 * page-data lifetime: such a page depends only on its URL, since their forms carry the shared
 * visitor token. Anyone with a session always gets a page rendered for them.
 */
export function visitorPageCache(ttlSeconds: number, clock: () => Date): RequestHandler & { clear(): void } {
  if (ttlSeconds <= 0) return Object.assign<RequestHandler, { clear(): void }>((_req, _res, next) => next(), { clear: () => {} });
  const pages = new LRUCache<string, string>({ max: 1000, ttl: ttlSeconds * 1000, perf: { now: () => clock().getTime() } });
  const handler: RequestHandler = (req, res, next) => {
    if (req.method !== 'GET' || !isVisitorWithoutSession(req)) return next();
    // The cookie banner (and anything waiting for consent) differs with the visitor's consent cookie.
    const key = `${/(?:^|;\s*)consent=(yes|no)(?:;|$)/.exec(req.headers.cookie ?? '')?.[1] ?? '-'} ${req.originalUrl}`;
    const cached = pages.get(key);
    if (cached !== undefined) {
      res.type('html').send(cached);
      return;
    }
    const send = res.send.bind(res);
    res.send = (body?: unknown) => {
      if (res.statusCode === 200 && typeof body === 'string' && !res.getHeader('set-cookie') && String(res.getHeader('content-type')).startsWith('text/html')) pages.set(key, body);
      return send(body);
    };
    next();
  };
  // clear(): an operator's catalogue edit shows at once in this process.
  return Object.assign(handler, { clear: () => pages.clear() });
}
