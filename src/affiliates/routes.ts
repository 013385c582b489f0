import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Db } from '../db/database.js';
import { codeEntryHandlers } from '../sign-in-codes/routes.js';
import { HttpError } from '../web/errors.js';
import { perClientLimit, type RateLimitStores } from '../web/rate-limit-store.js';
import { flash } from '../web/flash.js';
import { markIdentity } from '../web/security.js';
import { parseBody } from '../web/params.js';
import { allTime, monthLabel, monthsChart } from './dashboard.js';
import { findActiveAffiliate, monthlyFigures } from './repository.js';
import { AFFILIATE_SESSION_HOURS, signInAffiliate, type AffiliateSignIn } from './sign-in.js';

const EMAIL = /^[^\s@<>()",;:]+@[^\s@<>()",;:]+\.[^\s@<>()",;:]+$/;

/** A path on this site for the link builder, or null: no scheme, no host, no `a` of its own. */
export function sitePath(typed: string, origin: string): string | null {
  const text = typed.trim();
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must be refused
  if (text.length === 0 || text.length > 500 || !text.startsWith('/') || /^[/\\]{2}|\\/.test(text) || /[\s\x00-\x1f]/.test(text))
    return null;
  let url: URL;
  try {
    url = new URL(text, origin);
  } catch {
    return null;
  }
  if (url.origin !== new URL(origin).origin) return null;
  url.searchParams.delete('a');
  return `${url.pathname}${url.search}`;
}

export function referralLink(origin: string, path: string, affiliateId: number): string {
  const url = new URL(path, origin);
  url.searchParams.delete('a');
  url.searchParams.append('a', String(affiliateId));
  return url.toString();
}

/** The signed-in affiliate, from the session only; signed out after AFFILIATE_SESSION_HOURS. */
function affiliateIdOf(req: Request, clock: () => Date): number | undefined {
  const { affiliateId, affiliateSignedInAt } = req.session ?? {};
  if (affiliateId === undefined) return undefined;
  if (clock().getTime() - (affiliateSignedInAt ?? 0) > AFFILIATE_SESSION_HOURS * 3600_000) {
    delete (req.session as Partial<typeof req.session>).affiliateId;
    return undefined;
  }
  return affiliateId;
}

export function affiliateRoutes({
  db,
  signIn,
  clock,
  limitPerClient,
  publicUrl,
  rateLimits,
}: {
  db: Db;
  signIn: AffiliateSignIn;
  clock: () => Date;
  limitPerClient: number;
  publicUrl: string | undefined;
  rateLimits: RateLimitStores;
}): Router {
  const router = Router();
  const requestLimit = perClientLimit({ max: limitPerClient, minutes: 15, store: rateLimits.store('affiliate-code-request') });
  const verifyLimit = perClientLimit({ max: limitPerClient * 3, minutes: 15, store: rateLimits.store('affiliate-code-check') });
  const origin = (req: Request) => publicUrl ?? `${req.protocol}://${req.get('host')}`;

  const renderSignIn = (res: Response, status = 200, error?: string, email = '') =>
    res.status(status).render('affiliates/sign-in', { title: 'Affiliate sign-in', robots: 'noindex', error, email });
  const code = codeEntryHandlers<string>({
    pending: (req) => req.session.affiliateSignInEmail,
    startPath: '/affiliate/sign-in',
    verify: (email, digits) => signIn.verifyCode(email, digits),
    signIn: (req, affiliateId) => signInAffiliate(req, affiliateId, clock()),
    donePath: '/affiliate',
    render: (res, email, status = 200, error) =>
      res.status(status).render('affiliates/code', { title: 'Enter your code', robots: 'noindex', email, error }),
  });

  router.get('/affiliate/sign-in', (req, res) => {
    if (affiliateIdOf(req, clock) !== undefined) return res.redirect(303, '/affiliate');
    renderSignIn(res);
  });

  router.post('/affiliate/sign-in', requestLimit, async (req, res) => {
    const { email: typed } = parseBody(z.object({ email: z.string().max(300) }), req.body);
    const email = typed.trim().toLowerCase();
    if (!EMAIL.test(email) || email.length > 254)
      return renderSignIn(res, 400, 'Please enter the email address you registered as an affiliate.', typed);
    await signIn.requestCode(email);
    req.session.affiliateSignInEmail = email;
    markIdentity(req);
    res.redirect(303, '/affiliate/code');
  });

  router.get('/affiliate/code', code.show);
  router.post('/affiliate/code', verifyLimit, code.check);

  router.post('/affiliate/sign-out', (req, res) => {
    delete (req.session as Partial<typeof req.session>).affiliateId;
    delete (req.session as Partial<typeof req.session>).affiliateSignedInAt;
    res.redirect(303, '/');
  });

  router.get('/affiliate', async (req, res) => {
    const affiliateId = affiliateIdOf(req, clock);
    if (affiliateId === undefined) {
      flash(req, 'info', 'Please sign in to see your affiliate dashboard.');
      return res.redirect(303, '/affiliate/sign-in');
    }
    const affiliate = await findActiveAffiliate(db, affiliateId);
    if (!affiliate) {
      delete (req.session as Partial<typeof req.session>).affiliateId;
      throw new HttpError(403, 'This affiliate account is no longer active.');
    }
    const base = origin(req);
    const typed = typeof req.query.path === 'string' ? req.query.path : undefined;
    const built = typed === undefined ? undefined : sitePath(typed, base);
    const months = await monthlyFigures(db, affiliateId);
    res.render('affiliates/dashboard', {
      title: 'Affiliate dashboard',
      robots: 'noindex',
      affiliate: {
        id: affiliate.id,
        name: affiliate.name,
        rate: affiliate.flat_pence !== null ? { flatPence: affiliate.flat_pence } : { percent: (affiliate.rate_basis_points ?? 0) / 100 },
      },
      referralLink: referralLink(base, '/', affiliate.id),
      builder:
        typed === undefined
          ? null
          : built
            ? { path: typed, link: referralLink(base, built, affiliate.id) }
            : { path: typed, error: 'Please enter a path on this site, starting with /, such as /release/some-album.' },
      months,
      totals: allTime(months),
      monthLabel,
      chart: monthsChart(months, clock()),
      // The header names who is signed in here, and signs them out.
      signedInAs: { label: `${affiliate.name} (affiliate ${affiliate.id})`, signOut: '/affiliate/sign-out' },
    });
  });

  return router;
}
