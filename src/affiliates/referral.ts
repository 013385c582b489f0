import type { Request, RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { AffiliateSettings } from '../config.js';
import type { Db } from '../db/database.js';
import { toDbTime } from '../db/dialect.js';
import { AFFILIATE_COOKIE_NAME, CONSENT_COOKIE, cookieMaxAge } from '../privacy/cookies.js';
import { countVisit, findActiveAffiliate, parseAffiliateNumber } from './repository.js';
import { HttpError } from '../web/errors.js';

const MAX_PATH = 190;
const MAX_LOCATION = 2000;

/** The `a` cookie's value when it is a well-formed affiliate number (checked against the database by the caller). */
export function affiliateCookie(req: Request): number | null {
  const value = /(?:^|;\s*)a=([^;]*)/.exec(req.headers.cookie ?? '')?.[1];
  return parseAffiliateNumber(value);
}

function hasConsent(req: Request): boolean {
  return new RegExp(`(?:^|;\\s*)${CONSENT_COOKIE.name}=yes(?:;|$)`).test(req.headers.cookie ?? '');
}

/** The same page on this site, without `a`: built from the path and the remaining query only. */
export function withoutAffiliateParam(req: Request): string {
  const rawQuery = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '';
  const params = new URLSearchParams(rawQuery);
  params.delete('a');
  // Leading slashes or backslashes would make a protocol-relative address to another host.
  const path = `/${req.path.replace(/^[/\\]+/, '')}`;
  const query = params.toString();
  return query ? `${path}?${query}` : path;
}

/**
 * A landing with `?a=N`: counts the visit and sets the `a` cookie when N is a known, active
 * affiliate, then redirects to the same page without `a`. Any other value of `a` only redirects.
 */
export function referralLanding({ db, settings, clock, logger }: { db: Db; settings: AffiliateSettings; clock: () => Date; logger: Logger }): RequestHandler {
  return async (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const rawQuery = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '';
    if (!rawQuery) return next();
    let values: string[];
    try {
      values = new URLSearchParams(rawQuery).getAll('a');
    } catch {
      return next();
    }
    if (values.length === 0) return next();
    const location = withoutAffiliateParam(req);
    // The address is sent back in a Location header, which clients and proxies refuse past a few KB.
    if (location.length > MAX_LOCATION) return next(new HttpError(414, 'That address is too long.'));
    try {
      const number = values.length === 1 ? parseAffiliateNumber(values[0]) : null;
      const affiliate = number === null ? undefined : await findActiveAffiliate(db, number);
      if (affiliate) {
        const now = clock();
        await countVisit(db, affiliate.id, toDbTime(now).slice(0, 10), location.split('?')[0]!.slice(0, MAX_PATH));
        const consented = settings.consent === 'implied' || hasConsent(req);
        const current = affiliateCookie(req);
        const keepFirst = settings.attribution === 'first' && current !== null && current !== affiliate.id && (await findActiveAffiliate(db, current)) !== undefined;
        if (consented && !keepFirst) {
          res.cookie(AFFILIATE_COOKIE_NAME, String(affiliate.id), { httpOnly: true, sameSite: 'lax', secure: req.secure, path: '/', maxAge: cookieMaxAge({ affiliates: settings }, AFFILIATE_COOKIE_NAME) });
        }
      }
    } catch (err) {
      // Counting a visit must never cost the visitor the page.
      logger.error({ err }, 'recording an affiliate landing failed');
    }
    res.redirect(302, location);
  };
}
