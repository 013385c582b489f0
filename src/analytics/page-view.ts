import { isIP } from 'node:net';
import { isbot } from 'isbot';

/**
 * What one request contributes to the usage statistics, decided from the request alone: which
 * page (a normalised path), whether the client is a person's browser, and the referring site.
 * Nothing here keeps anything about the visitor.
 */

/** Not pages: assets, media, probes, providers' callbacks, the stand-ins and the operator's area. */
const NOT_PAGES = /^\/(?:static|preview|cover|download|healthz|webhooks|notifications|sandbox|admin)(?:\/|$)/;

/** The longest path kept (the column's size); longer ones are cut, so a row's key stays bounded. */
export const MAX_PATH = 190;
export const MAX_DOMAIN = 190;

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/**
 * Pages whose path carries an order's reference or a secret token: counted under one row each,
 * so a table of paths never lists references or tokens (nor grows by one row per order).
 */
const PRIVATE_SEGMENTS: [RegExp, string][] = [
  [/^\/orders\/[^/]+/, '/orders/:reference'],
  [/^\/account\/link\/[^/]+/, '/account/link/:token'],
  [/^\/l\/[^/]+/, '/l/:token'],
  [/^\/unsubscribe\/[^/]+/, '/unsubscribe/:token'],
];

/**
 * The path a page view is counted under, or null when the URL is not a page we count.
 * Never the query string (it can hold search terms or tokens); lower case, no trailing slash; at most MAX_PATH.
 */
export function pagePath(originalUrl: string): string | null {
  const end = originalUrl.search(/[?#]/);
  let path = end === -1 ? originalUrl : originalUrl.slice(0, end);
  if (path.includes('//')) path = path.replace(/\/{2,}/g, '/');
  if (path.length > 1 && path.endsWith('/')) path = path.replace(/\/+$/, '') || '/';
  // Routes match case-insensitively and decode escapes, so /Release/%61bc is /release/abc: one row, not many.
  if (path.includes('%'))
    path = path.replace(/%([0-9A-Fa-f]{2})/g, (escape, hex: string) =>
      UNRESERVED.test(String.fromCharCode(parseInt(hex, 16))) ? String.fromCharCode(parseInt(hex, 16)) : escape,
    );
  path = path.toLowerCase();
  if (NOT_PAGES.test(path)) return null;
  for (const [pattern, label] of PRIVATE_SEGMENTS) {
    if (pattern.test(path)) return label;
  }
  return path.length > MAX_PATH ? path.slice(0, MAX_PATH) : path;
}

const BOT_CACHE_LIMIT = 500;
const botCache = new Map<string, boolean>();

/**
 * True for crawlers, link previewers, monitors and scripts (the `isbot` list), and for a request
 * with no User-Agent at all. Browsers send a handful of distinct strings, so the answer is
 * remembered for recent ones: the pattern is long and this runs on every page.
 */
export function isBot(userAgent: string | undefined): boolean {
  if (!userAgent) return true;
  let answer = botCache.get(userAgent);
  if (answer === undefined) {
    answer = isbot(userAgent);
    if (botCache.size >= BOT_CACHE_LIMIT) botCache.clear();
    botCache.set(userAgent, answer);
  }
  return answer;
}

/**
 * The host name of the site that linked here, or null when there is none, it is this store
 * (`ownHosts`), or it is an address rather than a name (an IP could be a person's own machine).
 * Only the host name: a referring URL's path and query can identify a person or carry tokens.
 */
export function referringDomain(referer: string | undefined, ownHosts: readonly string[]): string | null {
  if (!referer || referer.length > 2048) return null;
  let host: string;
  try {
    const url = new URL(referer);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
    host = url.hostname; // lower-cased and punycoded by URL
  } catch {
    return null;
  }
  if (!host || host.startsWith('[') || isIP(host) !== 0 || ownHosts.includes(host)) return null;
  if (host.endsWith('.')) host = host.slice(0, -1);
  return host.length > MAX_DOMAIN ? host.slice(0, MAX_DOMAIN) : host;
}
