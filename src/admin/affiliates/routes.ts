/**
 * Affiliates: list with commissions by status, add, deactivate (or reactivate), set the rate,
 * record a payout. The affiliate rows and payouts are written by src/affiliates/repository.ts,
 * the same functions as `npx store affiliate ...`.
 */
import { Router, type Request } from 'express';
import { z } from 'zod';
import { addAffiliate, findAffiliate, listAffiliates, recordPayout, setActive } from '../../affiliates/repository.js';
import { isDuplicateKeyError } from '../../db/dialect.js';
import { HttpError } from '../../web/errors.js';
import { flash } from '../../web/flash.js';
import { parseBody } from '../../web/params.js';
import { formatPrice } from '../../web/view-helpers.js';
import { recordAudit } from '../audit.js';
import { operatorOf } from '../access/session.js';
import { parsePounds } from '../catalogue/prices.js';
import type { AdminDeps } from '../deps.js';
import { commissionsByStatus, figuresOf, payoutsOf, recentCommissions, setRate, type Rate } from './repository.js';

const EMAIL = /^[^\s@<>()",;:]+@[^\s@<>()",;:]+\.[^\s@<>()",;:]+$/;

function affiliateId(req: Request): number {
  if (!/^[1-9]\d{0,8}$/.test(String(req.params.id))) throw new HttpError(404, 'There is no such affiliate.');
  return Number(req.params.id);
}

/** "percent" with 0 to 100 (two decimals at most), or "flat" with an amount in pounds. */
export function parseRate(kind: string | undefined, value: string | undefined): Rate {
  const text = (value ?? '').trim();
  if (kind === 'flat') {
    const pence = parsePounds(text);
    if (pence === null || pence === undefined) throw new HttpError(400, 'A flat commission must be an amount in pounds such as 0.50.');
    return { rateBasisPoints: null, flatPence: pence };
  }
  if (kind === 'percent') {
    if (!/^\d{1,3}(\.\d{1,2})?$/.test(text) || Number(text) > 100)
      throw new HttpError(400, 'A percentage must be from 0 to 100, such as 20 or 12.5.');
    return { rateBasisPoints: Math.round(Number(text) * 100), flatPence: null };
  }
  throw new HttpError(400, 'Choose a percentage or a flat amount per order.');
}

export const rateText = (a: { rate_basis_points: number | null; flat_pence: number | null }) =>
  a.flat_pence !== null ? `${formatPrice(a.flat_pence)} per order` : `${(a.rate_basis_points ?? 0) / 100}% of each order`;

const rateForm = z.object({ kind: z.string().max(10).optional(), value: z.string().max(20).optional() });

export function affiliatesAdminRoutes(deps: AdminDeps): Router {
  const router = Router();
  const { db, clock } = deps;
  const mustExist = async (id: number) => {
    const affiliate = await findAffiliate(db, id);
    if (!affiliate) throw new HttpError(404, 'There is no such affiliate.');
    return affiliate;
  };

  router.get('/admin/affiliates', async (_req, res) => {
    const [affiliates, figures] = await Promise.all([listAffiliates(db), commissionsByStatus(db)]);
    res.render('admin/affiliates/list', {
      title: 'Affiliates',
      section: 'affiliates',
      affiliates: affiliates.map((a) => ({ ...a, rate: rateText(a), figures: figuresOf(figures, a.id) })),
      publicUrl: deps.publicUrl,
    });
  });

  router.get('/admin/affiliates/:id', async (req, res) => {
    const affiliate = await mustExist(affiliateId(req));
    const [figures, payouts, commissions] = await Promise.all([
      commissionsByStatus(db, affiliate.id),
      payoutsOf(db, affiliate.id),
      recentCommissions(db, affiliate.id),
    ]);
    res.render('admin/affiliates/affiliate', {
      title: `Affiliate ${affiliate.id}`,
      section: 'affiliates',
      affiliate: { ...affiliate, rate: rateText(affiliate) },
      figures: figuresOf(figures, affiliate.id),
      payouts,
      commissions,
      publicUrl: deps.publicUrl,
    });
  });

  router.post('/admin/affiliates', async (req, res) => {
    const form = parseBody(rateForm.extend({ name: z.string().max(300), email: z.string().max(300) }), req.body);
    const name = form.name.trim();
    const email = form.email.trim().toLowerCase();
    if (!name || name.length > 120) throw new HttpError(400, 'The name must be 1 to 120 characters.');
    if (!EMAIL.test(email) || email.length > 254) throw new HttpError(400, 'Please give the affiliate’s email address.');
    const rate = parseRate(form.kind, form.value);
    const now = clock();
    const id = await db
      .transaction()
      .execute(async (tx) => {
        const added = await addAffiliate(tx, { name, email, ...rate }, now);
        await recordAudit(
          tx,
          {
            operatorId: operatorOf(req).id,
            action: 'affiliate.add',
            target: `affiliate:${added}`,
            detail: rateText({ rate_basis_points: rate.rateBasisPoints, flat_pence: rate.flatPence }),
          },
          now,
        );
        return added;
      })
      .catch((error: unknown) => {
        throw isDuplicateKeyError(error) ? new HttpError(409, 'An affiliate with that email address already exists.') : error;
      });
    flash(req, 'info', `Added affiliate ${id}. Their referral link: ${deps.publicUrl}/?a=${id}`);
    res.redirect(303, `/admin/affiliates/${id}`);
  });

  router.post('/admin/affiliates/:id/active', async (req, res) => {
    const id = affiliateId(req);
    const { active } = parseBody(z.object({ active: z.enum(['yes', 'no']) }), req.body);
    await mustExist(id);
    const now = clock();
    await db.transaction().execute(async (tx) => {
      await setActive(tx, id, active === 'yes', now);
      await recordAudit(
        tx,
        {
          operatorId: operatorOf(req).id,
          action: active === 'yes' ? 'affiliate.activate' : 'affiliate.deactivate',
          target: `affiliate:${id}`,
        },
        now,
      );
    });
    flash(
      req,
      'info',
      active === 'yes'
        ? `Affiliate ${id} is active again.`
        : `Affiliate ${id} is deactivated: their links set no cookie and new orders are not credited to them.`,
    );
    res.redirect(303, `/admin/affiliates/${id}`);
  });

  router.post('/admin/affiliates/:id/rate', async (req, res) => {
    const id = affiliateId(req);
    const form = parseBody(rateForm, req.body);
    const rate = parseRate(form.kind, form.value);
    const before = await mustExist(id);
    const now = clock();
    const text = rateText({ rate_basis_points: rate.rateBasisPoints, flat_pence: rate.flatPence });
    await db.transaction().execute(async (tx) => {
      await setRate(tx, id, rate, now);
      await recordAudit(
        tx,
        { operatorId: operatorOf(req).id, action: 'affiliate.rate', target: `affiliate:${id}`, detail: `${rateText(before)} -> ${text}` },
        now,
      );
    });
    flash(req, 'info', `Affiliate ${id} now earns ${text} on new orders.`);
    res.redirect(303, `/admin/affiliates/${id}`);
  });

  router.post('/admin/affiliates/:id/payout', async (req, res) => {
    const id = affiliateId(req);
    await mustExist(id);
    // A payout cannot be taken back: the form's tick box says the money has gone (checked here too, for browsers that skip it).
    if ((req.body as Record<string, unknown> | undefined)?.confirm !== 'yes') {
      flash(req, 'error', 'Nothing was recorded: tick the box to confirm that you have paid the affiliate.');
      return res.redirect(303, `/admin/affiliates/${id}`);
    }
    const now = clock();
    const payout = await recordPayout(db, id, now);
    if (!payout) {
      flash(req, 'error', `Nothing to pay affiliate ${id}: no approved commissions.`);
      return res.redirect(303, `/admin/affiliates/${id}`);
    }
    // recordPayout commits its own transaction; the audit row follows it.
    await recordAudit(
      db,
      {
        operatorId: operatorOf(req).id,
        action: 'affiliate.payout',
        target: `affiliate:${id}`,
        detail: `payout ${payout.payoutId}: ${formatPrice(payout.amountPence)} for ${payout.count} commission(s)`,
      },
      now,
    );
    flash(
      req,
      'info',
      `Recorded payout ${payout.payoutId}: ${formatPrice(payout.amountPence)} for ${payout.count} commission${payout.count === 1 ? '' : 's'}.`,
    );
    res.redirect(303, `/admin/affiliates/${id}`);
  });

  return router;
}
