import type { Request } from 'express';
import type { Db } from '../db/database.js';
import { regenerateSession } from '../customers/session.js';
import { createCodeSignIn, queueCodeEmail } from '../sign-in-codes/sign-in.js';
import { findAffiliateByEmail } from './repository.js';

/** What an affiliate's session holds (beside the customer's; see src/web/session-data.ts). */
declare module 'express-session' {
  interface SessionData {
    affiliateId: number;
    affiliateSignedInAt: number;
    /** The email a code was asked for, while its code is being typed. */
    affiliateSignInEmail: string;
  }
}

export const AFFILIATE_SESSION_HOURS = 12;

/**
 * Affiliates sign in as customers do, with a one-time code (src/sign-in-codes/), sent to the
 * affiliate's own email; a deactivated affiliate is treated as unknown.
 */
export function createAffiliateSignIn({ db, secret, clock, storeName }: { db: Db; secret: string; clock: () => Date; storeName: string }) {
  return createCodeSignIn(
    { db, secret, clock },
    {
      kind: 'affiliate',
      find: async (tx, email: string) => {
        const affiliate = await findAffiliateByEmail(tx, email);
        return affiliate?.active === 1 ? affiliate : undefined;
      },
      send: (tx, affiliate, code, now) =>
        queueCodeEmail(
          tx,
          affiliate.email,
          {
            subject: `Your ${storeName} affiliate sign-in code`,
            signInTo: `your ${storeName} affiliate dashboard`,
            ifNotYou: 'If you did not ask for it, you can ignore this email.',
          },
          code,
          now,
        ),
    },
  );
}

export type AffiliateSignIn = ReturnType<typeof createAffiliateSignIn>;

/** A fresh session id on sign-in (no fixation); the shopper's basket, orders and own sign-in stay. */
export function signInAffiliate(req: Request, affiliateId: number, now: Date): Promise<void> {
  return regenerateSession(req, { affiliateId, affiliateSignedInAt: now.getTime() });
}
