import type { Request } from 'express';
import type { Db } from '../db/database.js';
import { toDbTime } from '../db/dialect.js';
import { queueMessage } from '../notifications/outbox.js';
import { createOneTimeCodes, type CodeCheck } from '../customers/one-time-codes.js';
import { regenerateSession } from '../customers/session.js';
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

export type AffiliateCodeCheck = { ok: true; affiliateId: number } | Exclude<CodeCheck, { ok: true }>;

/**
 * Affiliates sign in as customers do, with a one-time code (customers/one-time-codes.ts), sent to
 * the affiliate's own email.
 */
export function createAffiliateSignIn({ db, secret, clock, storeName }: { db: Db; secret: string; clock: () => Date; storeName: string }) {
  const codes = createOneTimeCodes({ table: 'affiliate_sign_in_codes', owner: 'affiliate_id' }, secret, clock);

  return {
    /** Sends a code when the email belongs to an active affiliate; the caller answers the same either way. */
    async requestCode(email: string): Promise<'sent' | 'unknown' | 'rate-limited'> {
      return db.transaction().execute(async (tx) => {
        const affiliate = await findAffiliateByEmail(tx, email);
        if (!affiliate || affiliate.active !== 1) return 'unknown';
        const code = await codes.issue(tx, affiliate.id);
        if (code === 'rate-limited') return 'rate-limited';
        const now = toDbTime(clock());
        await queueMessage(
          tx,
          {
            channel: 'email',
            recipient: affiliate.email,
            kind: 'transactional',
            subject: `Your ${storeName} affiliate sign-in code: ${code}`,
            text: `Your code to sign in to your ${storeName} affiliate dashboard is ${code}.\n\nIt works once, for 10 minutes. If you did not ask for it, you can ignore this email.\n`,
          },
          now,
        );
        return 'sent';
      });
    },

    async verifyCode(email: string, code: string): Promise<AffiliateCodeCheck> {
      return db.transaction().execute(async (tx) => {
        const affiliate = await findAffiliateByEmail(tx, email);
        if (!affiliate || affiliate.active !== 1) return { ok: false, reason: 'wrong' };
        const result = await codes.verify(tx, affiliate.id, code);
        return result.ok ? { ok: true, affiliateId: affiliate.id } : result;
      });
    },
  };
}

export type AffiliateSignIn = ReturnType<typeof createAffiliateSignIn>;

/** A fresh session id on sign-in (no fixation); the shopper's basket, orders and own sign-in stay. */
export function signInAffiliate(req: Request, affiliateId: number, now: Date): Promise<void> {
  return regenerateSession(req, { affiliateId, affiliateSignedInAt: now.getTime() });
}
