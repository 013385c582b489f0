import { Router, type Response } from 'express';
import { z } from 'zod';
import type { Db } from '../db/database.js';
import type { DownloadAccess } from '../downloads/access.js';
import type { LibraryRelease } from '../downloads/library.js';
import type { MasterFormat } from '../db/schema.js';
import { chooseFormat, FORMATS, type FormatId } from '../media/formats.js';
import { codeEntryHandlers } from '../sign-in-codes/routes.js';
import { HttpError } from '../web/errors.js';
import { perClientLimit, type RateLimitStores } from '../web/rate-limit-store.js';
import { flash } from '../web/flash.js';
import { markIdentity } from '../web/security.js';
import { parseBody } from '../web/params.js';
import { contactText, maskContact, parseContact } from './contact.js';
import { findCustomer, type Contact } from './repository.js';
import { customerIdOf, signInSession, signOutSession } from './session.js';
import { SHORT_LINK_PATH, type SignIn } from './sign-in.js';

export interface AccountDeps {
  db: Db;
  signIn: SignIn;
  clock: () => Date;
  limitPerClient: number;
  /** Counts kept in the database, so the limits hold across every app process. */
  rateLimits: RateLimitStores;
  /** What this request may download: the account's music, and the order this browser just paid for. */
  downloads: DownloadAccess;
  /** Which formats each bought track is offered in (src/media/). */
  offeredFormats: (masterFormat: MasterFormat) => FormatId[];
}

export function accountRoutes({ db, signIn, clock, limitPerClient, rateLimits, downloads, offeredFormats }: AccountDeps): Router {
  const router = Router();
  const requestLimit = perClientLimit({ max: limitPerClient, minutes: 15, store: rateLimits.store('account-code-request') });
  const verifyLimit = perClientLimit({ max: limitPerClient * 3, minutes: 15, store: rateLimits.store('account-code-check') });

  const renderSignIn = (res: Response, status = 200, error?: string, contact = '') =>
    res.status(status).render('account/sign-in', { title: 'Sign in', robots: 'noindex', error, contact });
  const code = codeEntryHandlers<Contact>({
    pending: (req) => req.session.signInContact,
    startPath: '/account',
    verify: (contact, digits) => signIn.verifyCode(contact, digits),
    signIn: (req, customerId) => signInSession(req, customerId, clock()),
    donePath: '/account/music',
    render: (res, contact, status = 200, error) =>
      res.status(status).render('account/code', {
        title: 'Enter your code',
        robots: 'noindex',
        masked: maskContact(contact),
        channel: 'email' in contact ? 'email' : 'text message',
        error,
      }),
  });

  router.get('/account', (req, res) => {
    if (customerIdOf(req) !== undefined) return res.redirect(303, '/account/music');
    renderSignIn(res);
  });

  router.post('/account/sign-in', requestLimit, async (req, res) => {
    const { contact: typed } = parseBody(z.object({ contact: z.string().max(300) }), req.body);
    const contact = parseContact(typed);
    if (!contact) return renderSignIn(res, 400, 'Please enter the email address or UK mobile number you paid with.', typed);
    // The answer is the same whether or not we know the contact, and whether or not a code went out.
    await signIn.requestCode(contact);
    req.session.signInContact = contact;
    markIdentity(req);
    res.redirect(303, '/account/code');
  });

  router.get('/account/code', code.show);
  router.post('/account/code', verifyLimit, code.check);

  // /l/ is the same link, shorter, so that a text message with it fits one SMS (fulfilment.ts).
  router.get(['/account/link/:token', `${SHORT_LINK_PATH}:token`], async (req, res) => {
    const result = await signIn.useLink(String(req.params.token));
    if (!result.ok)
      return renderSignIn(res, 400, 'That sign-in link has expired, been used up, or is not complete. Sign in with a code instead.');
    await signInSession(req, result.customerId, clock());
    res.redirect(303, '/account/music');
  });

  router.post('/account/sign-out', async (req, res) => {
    await signOutSession(req);
    res.redirect(303, '/');
  });

  router.get('/account/music', async (req, res) => {
    const customerId = customerIdOf(req);
    const preferred = await downloads.preferredFormat(req);
    const releases = (await downloads.music(req)).map((release) => withFormats(release, offeredFormats, preferred));
    // Not signed in: the music of what this browser has just paid for, if any (src/downloads/access.ts).
    if (customerId === undefined && releases.length === 0) {
      flash(req, 'info', 'Please sign in to see your music.');
      return res.redirect(303, '/account');
    }
    const customer = customerId === undefined ? undefined : await findCustomer(db, customerId);
    if (customerId !== undefined && !customer) throw new HttpError(404, 'We could not find your account.');
    const login = customer ? contactText(customer.email ? { email: customer.email } : { msisdn: customer.msisdn! }) : null;
    res.render('account/music', {
      title: 'Your music',
      robots: 'noindex',
      releases,
      login,
      paidSessionHours: downloads.settings.paidSessionHours,
      formatLabel: (id: FormatId) => FORMATS[id].label,
    });
  });

  return router;
}

/**
 * The formats on offer for each track and for the release's ZIP (those of its tracks, in the
 * store's order), with the one a plain "Download" gives: the customer's last choice where offered.
 */
function withFormats(release: LibraryRelease, offered: (masterFormat: MasterFormat) => FormatId[], preferred: string | null) {
  const tracks = release.tracks.map((track) => {
    const formats = offered(track.master_format);
    return { ...track, formats, chosen: chooseFormat(formats, preferred) };
  });
  const formats = [...new Set(tracks.flatMap((t) => t.formats))];
  return { ...release, tracks, formats, chosen: chooseFormat(formats, preferred) };
}
