import type { Request, RequestHandler, Response } from 'express';
import { createHash, randomBytes } from 'node:crypto';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { LRUCache } from 'lru-cache';
import {
  compressPieces,
  filledGzip,
  filledPlain,
  ownBytes,
  piecesBytes,
  piecesOf,
  type CompressedPieces,
  type Piece,
} from '../web/gzip-with-holes.js';
import type { PeekedSession, SessionPeek } from '../web/session-peek.js';

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
const SHAREABLE_SESSION_KEYS = new Set([
  'cookie',
  'csrfToken',
  'identity',
  'basket',
  'orderRefs',
  'customerId',
  'signedInAt',
  'lastSeenAt',
]);

/** True when a session holds only what a shared page fills in, and something of it (else the visitors' page is theirs). */
const holdsOnlyShareable = (session: object) => {
  const keys = Object.keys(session);
  return keys.some((key) => key !== 'cookie') && keys.every((key) => SHAREABLE_SESSION_KEYS.has(key));
};

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
  /** A page with forms: its pieces around the token, compressed once (made on its first request). */
  pieces?: CompressedPieces;
}

const compressors = {
  br: (html: string | Buffer) => ownBytes(brotliCompressSync(html, { params: { [constants.BROTLI_PARAM_QUALITY]: 9 } })),
  gzip: (html: string | Buffer) => ownBytes(gzipSync(html, { level: 9 })),
};

/** Whether the client takes this encoding (every browser takes gzip). */
const takes = (req: Request, encoding: 'gzip' | 'br') => !!req.headers['accept-encoding'] && !!req.acceptsEncodings(encoding);

/**
 * A kept page with its holes filled, as the client takes it: gzipped from its pieces compressed once
 * (src/web/gzip-with-holes.ts); compressed for this response alone for a client that takes brotli
 * but not gzip (no browser); as it is otherwise. Kept pages are sent before the compression
 * middleware (src/app.ts), so this is their compression.
 */
function sendFilled(req: Request, res: Response, page: CompressedPieces, holes: Buffer[]): Response {
  res.type('html').vary('Accept-Encoding');
  if (takes(req, 'gzip')) return res.set('Content-Encoding', 'gzip').send(filledGzip(page, holes));
  const plain = filledPlain(page.plain, holes);
  return takes(req, 'br') ? res.set('Content-Encoding', 'br').send(compressors.br(plain)) : res.send(plain);
}

/**
 * A cached page as the client takes it. A page with forms gets this visitor's own token (and its own
 * ETag, so a revalidation is still answered 304), gzipped from pieces compressed once with the token
 * stored between them (src/web/gzip-with-holes.ts); a page without one is compressed once per
 * encoding and then sent as it is.
 */
function sendPage(req: Request, res: Response, page: CachedPage, visitorToken: VisitorToken): void {
  if (page.html.includes(TOKEN_SLOT)) {
    const token = visitorToken(req, res);
    const etag = `${page.etag.slice(0, -1)}-${createHash('sha1').update(token).digest('base64url').slice(0, 10)}"`;
    page.pieces ??= compressPieces(piecesOf(page.html, [TOKEN_SLOT]));
    return void sendFilled(req, res.set('ETag', etag), page.pieces, [Buffer.from(token)]);
  }
  res.type('html').vary('Accept-Encoding').set('ETag', page.etag);
  const encoding = takes(req, 'br') ? 'br' : takes(req, 'gzip') ? 'gzip' : undefined;
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
type VisitorPageCache = RequestHandler & {
  clear(): void;
  beforeSession(sessionCookie: string, shoppers?: ShopperShortcut): RequestHandler;
};

/**
 * What answers a shopper's GET before the session chain: a peek at the session (src/web/session-peek.ts),
 * and what the page shows of it, worked out as the chain's middleware would (src/app.ts).
 */
export interface ShopperShortcut {
  peek: SessionPeek;
  localsOf: (session: PeekedSession) => ShopperLocals;
}

/** What a page shows of the shopper's own (src/app.ts and src/web/security.ts put these in res.locals). */
export interface ShopperLocals {
  csrfToken: () => string;
  basketCount: number;
  signedIn: boolean;
}

/**
 * Each of the two page caches holds at most this much (strings count two bytes a character): the
 * pages most asked for stay, and the store's memory stays inside the heap it is given.
 */
const CACHE_BYTES = 16 * 2 ** 20;
/** A cached page's text, and room for what is made from it later: its compressed copies, or its pieces. */
const pageBytes = (page: CachedPage) => page.html.length * 3;

/**
 * A shared shopper's page: its bytes, kept as UTF-8 (put together with a copy per request, rather
 * than joining and encoding the text again), around the holes for the shopper's token and count.
 */
const TOKEN_HOLE = 0;
const COUNT_HOLE = 1;
const EMPTY = Buffer.alloc(0);

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
  const pages = new LRUCache<string, CompressedPieces>({
    max: 1000,
    maxSize: CACHE_BYTES,
    sizeCalculation: piecesBytes,
    ttl: ttlSeconds * 1000,
    perf: { now: () => clock().getTime() },
  });
  const keyFor = (req: Request, locals: ShopperLocals) =>
    `${locals.signedIn ? 'in' : 'out'} ${locals.basketCount > 0 ? 'basket' : 'empty'} ${keyOf(req)}`;

  // In the order of the holes' numbers: TOKEN_HOLE, COUNT_HOLE.
  const toParts = (body: string) => piecesOf(body, [TOKEN, COUNT]);
  /** This shopper's own values for the holes, by hole (the token asked for only if the page has a form). */
  const holesOf = (parts: Piece[], locals: ShopperLocals): Buffer[] => [
    parts.includes(TOKEN_HOLE) ? Buffer.from(escapeHtml(locals.csrfToken())) : EMPTY,
    parts.includes(COUNT_HOLE) ? Buffer.from(String(locals.basketCount)) : EMPTY,
  ];
  const sendParts = (req: Request, res: Response, page: CompressedPieces, locals: ShopperLocals) =>
    sendFilled(req, res, page, holesOf(page.plain, locals));

  const handler: RequestHandler = (req, res, next) => {
    const locals = res.locals as unknown as ShopperLocals;
    const key = keyFor(req, locals);
    const cached = pages.get(key);
    if (cached !== undefined) return void sendParts(req, res, cached, locals);
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
      const type = res.getHeader('content-type');
      // Anything but a page (a JSON error, say) goes out as it was rendered, markers filled in.
      if (type !== undefined && !String(type).startsWith('text/html')) {
        const plain = toParts(body);
        return send(filledPlain(plain, holesOf(plain, { ...own, signedIn: locals.signedIn })).toString());
      }
      const page = compressPieces(toParts(body));
      if (res.statusCode === 200) pages.set(key, page);
      return sendParts(req, res, page, { ...own, signedIn: locals.signedIn });
    };
    next();
  };
  const states = ['in basket', 'in empty', 'out basket', 'out empty'];
  /** Whether any shopper's page for this URL and consent is kept: only then is a session worth peeking at before the chain. */
  const mayHave = (req: Request) => {
    const key = keyOf(req);
    return states.some((state) => pages.has(`${state} ${key}`));
  };
  /**
   * Sends the kept page for a session peeked at before the chain, if there is one; false when the
   * request has to go through the chain (the session holds more than a shared page shows, or it
   * would be given its CSRF token now, or the page is not kept).
   */
  const answer = (req: Request, res: Response, session: PeekedSession, locals: ShopperLocals): boolean => {
    if (!holdsOnlyShareable(session) || typeof session.csrfToken !== 'string') return false;
    const cached = pages.get(keyFor(req, locals));
    if (cached === undefined) return false;
    sendParts(req, res, cached, locals);
    return true;
  };
  return Object.assign(handler, { clear: () => pages.clear(), mayHave, answer });
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
   * The same pages, served before the session middleware. A GET without a session cookie can only
   * ever be given the shared visitors' page, so loading a session (a random id, a hash) and the rest
   * of the chain for it is skipped. With `shoppers`, a GET with a session cookie for a page kept for
   * shoppers peeks at its session (one read by primary key) and is answered from shopperPages when
   * the chain would change nothing in the session (bench: the chain was most of a shopper's page).
   * A miss goes on through the whole chain.
   */
  const beforeSession = (sessionCookie: string, shopperShortcut?: ShopperShortcut): RequestHandler => {
    const hasSession = new RegExp(`(?:^|;)\\s*${sessionCookie}=`);
    return (req, res, next) => {
      if (req.method !== 'GET') return next();
      if (hasSession.test(req.headers.cookie ?? '')) {
        if (!shopperShortcut || !shoppers.mayHave(req)) return next();
        return void shopperShortcut.peek(req).then(
          (session) => (session && shoppers.answer(req, res, session, shopperShortcut.localsOf(session)) ? undefined : next()),
          // The chain reads the session again and answers the failure as it would any other.
          () => next(),
        );
      }
      const cached = pages.get(keyOf(req));
      if (cached === undefined) return next();
      sendPage(req, res, cached, visitorToken);
    };
  };
  // clear(): an operator's catalogue edit shows at once in this process.
  return Object.assign(handler, { clear: () => (pages.clear(), shoppers.clear()), beforeSession });
}
