import type { Request, RequestHandler, Response } from 'express';
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

/** The visitor's recorded cookie choice, if they made one. */
function cookieChoice(req: Request): 'yes' | 'no' | undefined {
  return new RegExp(`(?:^|;\\s*)${CONSENT_COOKIE.name}=(yes|no)(?:;|$)`).exec(req.headers.cookie ?? '')?.[1] as 'yes' | 'no' | undefined;
}

/**
 * The query parameter that holds a referral while the visitor has not yet answered the cookie
 * banner (AFFILIATE_COOKIE_CONSENT=required): nothing may be stored in their browser before they
 * accept, so the number rides in the address of the page they land on, and from there in the
 * banner's form (src/privacy/routes.ts), and becomes the `a` cookie only if they accept. It holds
 * what the referral link itself held (a public affiliate number), so it needs no signature: it is
 * checked against the active affiliates again when it is used.
 */
export const PENDING_REFERRAL_PARAM = 'referral';

/** A referral waiting for the visitor's cookie choice, from the page's address. */
export function pendingReferral(req: Request): number | null {
  const value = req.query[PENDING_REFERRAL_PARAM];
  return typeof value === 'string' ? parseAffiliateNumber(value) : null;
}

/**
 * Sets the `a` cookie for an active affiliate: on a landing with consent, or when the visitor
 * accepts cookies with a referral pending. With first-touch attribution, an active affiliate
 * already in the cookie keeps the credit.
 */
export function rememberReferral({ db, settings }: { db: Db; settings: AffiliateSettings }) {
  return async (req: Request, res: Response, affiliateId: number): Promise<void> => {
    const affiliate = await findActiveAffiliate(db, affiliateId);
    if (!affiliate) return;
    const current = affiliateCookie(req);
    const keepFirst =
      settings.attribution === 'first' &&
      current !== null &&
      current !== affiliate.id &&
      (await findActiveAffiliate(db, current)) !== undefined;
    if (keepFirst) return;
    res.cookie(AFFILIATE_COOKIE_NAME, String(affiliate.id), {
      httpOnly: true,
      sameSite: 'lax',
      secure: req.secure,
      path: '/',
      maxAge: cookieMaxAge({ affiliates: settings }, AFFILIATE_COOKIE_NAME),
    });
  };
}

/** A same-site path with one query parameter set (replacing any of that name). */
export function withParam(path: string, name: string, value: string | null): string {
  const [pathname, query = ''] = path.split(/\?(.*)/s);
  const params = new URLSearchParams(query);
  if (value === null) params.delete(name);
  else params.set(name, value);
  const rest = params.toString();
  return rest ? `${pathname}?${rest}` : pathname!;
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
 * When the cookie needs consent the visitor has not yet given or refused, the number is held in
 * the address instead (PENDING_REFERRAL_PARAM) until they answer the banner.
 */
export function referralLanding({
  db,
  settings,
  clock,
  logger,
}: {
  db: Db;
  settings: AffiliateSettings;
  clock: () => Date;
  logger: Logger;
}): RequestHandler {
  const remember = rememberReferral({ db, settings });
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
      let redirectTo = location;
      if (affiliate) {
        const now = clock();
        await countVisit(db, affiliate.id, toDbTime(now).slice(0, 10), location.split('?')[0]!.slice(0, MAX_PATH));
        const choice = cookieChoice(req);
        if (settings.consent === 'implied' || choice === 'yes') await remember(req, res, affiliate.id);
        else if (choice === undefined) redirectTo = withParam(location, PENDING_REFERRAL_PARAM, String(affiliate.id));
      }
      res.redirect(302, redirectTo);
      return;
    } catch (err) {
      // Counting a visit must never cost the visitor the page.
      logger.error({ err }, 'recording an affiliate landing failed');
    }
    res.redirect(302, location);
  };
}
