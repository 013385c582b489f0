import type { Request, RequestHandler, Response } from 'express';
import { createHash, randomBytes } from 'node:crypto';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { LRUCache } from 'lru-cache';

/** True when nothing in the page can differ from visitor to visitor: no basket, flash, sign-in or session token. */
function isVisitorWithoutSession(req: Request): boolean {
  const session = req.session as unknown as Record<string, unknown> | undefined;
  return !session || Object.keys(session).every((key) => key === 'cookie');
}

/**
 * What a shopper's session may hold for a catalogue page to be shared with other shoppers, the
 * per-visitor parts filled in (see shopperPages below): the basket, the browser's orders, a
 * customer's sign-in and the session's CSRF token. Anything else (a flash message, an operator,
 * a sign-in code being typed) makes the page be rendered for that visitor alone.
 */
const SHAREABLE_SESSION_KEYS = new Set(['cookie', 'csrfToken', 'basket', 'orderRefs', 'customerId', 'signedInAt', 'lastSeenAt']);

function isShopperWithShareablePage(req: Request, res: Response): boolean {
  const session = req.session as unknown as Record<string, unknown> | undefined;
  // res.locals.flash is read only when the session holds none: reading it takes the session's messages.
  return (
    !!session &&
    Object.keys(session).every((key) => SHAREABLE_SESSION_KEYS.has(key)) &&
    !(res.locals.flash as unknown[] | undefined)?.length
  );
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

interface CachedPage {
  html: string;
  etag: string;
  /** The page compressed, made on the first request that accepts each encoding (pages without a form only). */
  br?: Buffer;
  gzip?: Buffer;
}

const compressors = {
  br: (html: string) => brotliCompressSync(html, { params: { [constants.BROTLI_PARAM_QUALITY]: 9 } }),
  gzip: (html: string) => gzipSync(html, { level: 9 }),
};

/**
 * A cached page as the client takes it. A page with forms gets this visitor's own token (and its own
 * ETag, so a revalidation is still answered 304) and is compressed on the way out like any response;
 * a page without one is compressed once per encoding and then sent as it is.
 */
function sendPage(req: Request, res: Response, page: CachedPage, visitorToken: VisitorToken): void {
  res.type('html').vary('Accept-Encoding');
  if (page.html.includes(TOKEN_SLOT)) {
    const token = visitorToken(req, res);
    const etag = `${page.etag.slice(0, -1)}-${createHash('sha1').update(token).digest('base64url').slice(0, 10)}"`;
    return void res.set('ETag', etag).send(page.html.replaceAll(TOKEN_SLOT, token));
  }
  res.set('ETag', page.etag);
  const encoding = !req.headers['accept-encoding']
    ? undefined
    : req.acceptsEncodings('br')
      ? 'br'
      : req.acceptsEncodings('gzip')
        ? 'gzip'
        : undefined;
  if (!encoding) return void res.send(page.html);
  const body = (page[encoding] ??= compressors[encoding](page.html));
  res.set('Content-Encoding', encoding).send(body);
}

/**
 * Whole catalogue pages for visitors without a session (first visits, crawlers), kept for the
 * page-data lifetime: such a page depends only on its URL once each visitor's own form token is
 * filled in as it goes out. A shopper with a session gets a shared page with their own parts filled
 * in (shopperPages), or one rendered for them alone.
 */
type VisitorPageCache = RequestHandler & { clear(): void; beforeSession(sessionCookie: string): RequestHandler };

/** What a page shows of the shopper's own (src/app.ts and src/web/security.ts put these in res.locals). */
interface ShopperLocals {
  csrfToken: () => string;
  basketCount: number;
  signedIn: boolean;
}

/**
 * Each of the two page caches holds at most this much (strings count two bytes a character): the
 * pages most asked for stay, and the store's memory stays inside the heap it is given.
 */
const CACHE_BYTES = 16 * 2 ** 20;
/** A cached page's text, and room for its compressed copies (made later, each well under half the text). */
const pageBytes = (page: CachedPage) => page.html.length * 3;
const partsBytes = (parts: string[]) => parts.reduce((n, part) => n + part.length * 2, 0);

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Catalogue pages for shoppers with a session, shared between them with holes where a page shows
 * something of the shopper's own: the session's CSRF token and the basket count. Such a page is
 * rendered once per URL, consent choice, signed in or not and basket empty or not, with markers
 * in the holes; each request fills them with its own values (the same functions the templates
 * call), so a shopper gets the bytes a fresh render would give, without the render (bench: the
 * render and its page data are most of a shopper's page).
 */
function shopperPages(ttlSeconds: number, clock: () => Date) {
  // Random per process, hex only: nothing on a page can contain them by chance, and escaping leaves them as they are.
  const marker = randomBytes(12).toString('hex');
  const TOKEN = `csrf${marker}`;
  const COUNT = `count${marker}`;
  const holes = new RegExp(`(${TOKEN}|${COUNT})`);
  const pages = new LRUCache<string, string[]>({
    max: 1000,
    maxSize: CACHE_BYTES,
    sizeCalculation: partsBytes,
    ttl: ttlSeconds * 1000,
    perf: { now: () => clock().getTime() },
  });
  const keyFor = (req: Request, locals: ShopperLocals) =>
    `${locals.signedIn ? 'in' : 'out'} ${locals.basketCount > 0 ? 'basket' : 'empty'} ${keyOf(req)}`;

  const fill = (parts: string[], locals: ShopperLocals) => {
    const token = parts.includes(TOKEN) ? escapeHtml(locals.csrfToken()) : '';
    return parts.map((part) => (part === TOKEN ? token : part === COUNT ? String(locals.basketCount) : part)).join('');
  };

  const handler: RequestHandler = (req, res, next) => {
    const locals = res.locals as unknown as ShopperLocals;
    const key = keyFor(req, locals);
    const cached = pages.get(key);
    if (cached !== undefined) return void res.type('html').send(fill(cached, locals));
    // Rendered with markers in the holes; the markers are replaced before anything is sent.
    const own = { csrfToken: locals.csrfToken, basketCount: locals.basketCount };
    Object.defineProperty(res.locals, 'csrfToken', { value: () => TOKEN, configurable: true, writable: true, enumerable: true });
    Object.defineProperty(res.locals, 'basketCount', {
      value: own.basketCount > 0 ? COUNT : 0,
      configurable: true,
      writable: true,
      enumerable: true,
    });
    const send = res.send.bind(res);
    res.send = (body?: unknown) => {
      if (typeof body !== 'string') return send(body);
      const parts = body.split(holes);
      const type = res.getHeader('content-type');
      if (res.statusCode === 200 && (type === undefined || String(type).startsWith('text/html'))) pages.set(key, parts);
      return send(fill(parts, { ...own, signedIn: locals.signedIn }));
    };
    next();
  };
  return Object.assign(handler, { clear: () => pages.clear() });
}

const pass: RequestHandler = (_req, _res, next) => next();

export function visitorPageCache(ttlSeconds: number, clock: () => Date, visitorToken: VisitorToken): VisitorPageCache {
  if (ttlSeconds <= 0)
    return Object.assign<RequestHandler, Omit<VisitorPageCache, keyof RequestHandler>>(pass, {
      clear: () => {},
      beforeSession: () => pass,
    });
  // Each page with its ETag, worked out once rather than hashed again on every send.
  const pages = new LRUCache<string, CachedPage>({
    max: 1000,
    maxSize: CACHE_BYTES,
    sizeCalculation: pageBytes,
    ttl: ttlSeconds * 1000,
    perf: { now: () => clock().getTime() },
  });
  const shoppers = shopperPages(ttlSeconds, clock);
  const handler: RequestHandler = (req, res, next) => {
    if (req.method !== 'GET') return next();
    if (!isVisitorWithoutSession(req)) return isShopperWithShareablePage(req, res) ? shoppers(req, res, next) : next();
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
      return (sendPage(req, res, page, visitorToken), res);
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
  return Object.assign(handler, { clear: () => (pages.clear(), shoppers.clear()), beforeSession });
}
