import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import type { Db } from '../db/database.js';
import { toDbTime } from '../db/dialect.js';
import { queueMessage } from '../notifications/outbox.js';
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

const CODE_MINUTES = 10;
const CODE_ATTEMPTS = 5;
const CODES_PER_WINDOW = 3;
const CODE_WINDOW_MINUTES = 15;
export const AFFILIATE_SESSION_HOURS = 12;

export type AffiliateCodeCheck = { ok: true; affiliateId: number } | { ok: false; reason: 'wrong' | 'expired' | 'locked' };

/**
 * The customers' one-time-code sign-in (src/customers/sign-in.ts), for affiliates: a 6-digit code
 * to the affiliate's own email, kept only as an HMAC, single use, five tries, ten minutes.
 */
export function createAffiliateSignIn({ db, secret, clock, storeName }: { db: Db; secret: string; clock: () => Date; storeName: string }) {
  const codeHash = (affiliateId: number, code: string) => createHmac('sha256', secret).update(`affiliate:${affiliateId}:${code}`).digest('hex');

  return {
    /** Sends a code when the email belongs to an active affiliate; the caller answers the same either way. */
    async requestCode(email: string): Promise<'sent' | 'unknown' | 'rate-limited'> {
      return db.transaction().execute(async (tx) => {
        const affiliate = await findAffiliateByEmail(tx, email);
        if (!affiliate || affiliate.active !== 1) return 'unknown';
        const since = toDbTime(new Date(clock().getTime() - CODE_WINDOW_MINUTES * 60_000));
        const recent = await tx.selectFrom('affiliate_sign_in_codes').select((eb) => eb.fn.countAll<number>().as('n')).where('affiliate_id', '=', affiliate.id).where('created_at', '>', since).executeTakeFirstOrThrow();
        if (Number(recent.n) >= CODES_PER_WINDOW) return 'rate-limited';
        const now = toDbTime(clock());
        const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
        await tx.updateTable('affiliate_sign_in_codes').set({ used_at: now }).where('affiliate_id', '=', affiliate.id).where('used_at', 'is', null).execute();
        await tx
          .insertInto('affiliate_sign_in_codes')
          .values({ affiliate_id: affiliate.id, code_hash: codeHash(affiliate.id, code), attempts: 0, expires_at: toDbTime(new Date(clock().getTime() + CODE_MINUTES * 60_000)), used_at: null, created_at: now })
          .execute();
        await queueMessage(
          tx,
          {
            channel: 'email',
            recipient: affiliate.email,
            kind: 'transactional',
            subject: `Your ${storeName} affiliate sign-in code: ${code}`,
            text: `Your code to sign in to your ${storeName} affiliate dashboard is ${code}.\n\nIt works once, for ${CODE_MINUTES} minutes. If you did not ask for it, you can ignore this email.\n`,
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
        const current = await tx.selectFrom('affiliate_sign_in_codes').selectAll().where('affiliate_id', '=', affiliate.id).where('used_at', 'is', null).orderBy('id', 'desc').executeTakeFirst();
        if (!current) return { ok: false, reason: 'wrong' };
        if (current.expires_at <= toDbTime(clock())) return { ok: false, reason: 'expired' };
        if (current.attempts >= CODE_ATTEMPTS) return { ok: false, reason: 'locked' };
        if (!timingSafeEqual(Buffer.from(codeHash(affiliate.id, code)), Buffer.from(current.code_hash))) {
          await tx.updateTable('affiliate_sign_in_codes').set({ attempts: current.attempts + 1 }).where('id', '=', current.id).execute();
          return { ok: false, reason: current.attempts + 1 >= CODE_ATTEMPTS ? 'locked' : 'wrong' };
        }
        const used = await tx.updateTable('affiliate_sign_in_codes').set({ used_at: toDbTime(clock()) }).where('id', '=', current.id).where('used_at', 'is', null).executeTakeFirst();
        return Number(used.numUpdatedRows) === 1 ? { ok: true, affiliateId: affiliate.id } : { ok: false, reason: 'wrong' };
      });
    },
  };
}

export type AffiliateSignIn = ReturnType<typeof createAffiliateSignIn>;

/** A fresh session id on sign-in (no fixation); the shopper's basket and orders come along. */
export function signInAffiliate(req: Request, affiliateId: number, now: Date): Promise<void> {
  const { basket, orderRefs, customerId, signedInAt, lastSeenAt } = req.session;
  return new Promise((resolve, reject) =>
    req.session.regenerate((error) => {
      if (error) return reject(error);
      Object.assign(req.session, { basket, orderRefs, customerId, signedInAt, lastSeenAt, affiliateId, affiliateSignedInAt: now.getTime() });
      req.session.save((saveError) => (saveError ? reject(saveError) : resolve()));
    }),
  );
}
