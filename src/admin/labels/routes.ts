/**
 * Labels: list, add, edit (name, contact, DDEX party id, royalty rate). Rows are written by
 * src/labels/repository.ts, the same functions the importer and DDEX ingest use; every change is
 * audited in its own transaction.
 */
import { Router, type Request } from 'express';
import { z } from 'zod';
import { isDuplicateKeyError } from '../../db/dialect.js';
import { addLabel, findLabel, listLabels, updateLabel, type LabelFields } from '../../labels/repository.js';
import { HttpError } from '../../web/errors.js';
import { flash } from '../../web/flash.js';
import { parseBody } from '../../web/params.js';
import { recordAudit } from '../audit.js';
import { operatorOf } from '../access/session.js';
import type { AdminDeps } from '../deps.js';
import { statementsAdminRoutes } from './statements-routes.js';

const EMAIL = /^[^\s@<>()",;:]+@[^\s@<>()",;:]+\.[^\s@<>()",;:]+$/;
/** A DDEX Party ID (DPID) such as PADPIDA2014120301U, or another registry's id of the same shape. */
const PARTY_ID = /^[A-Z0-9]{4,40}$/;

const labelForm = z.object({
  name: z.string().max(300),
  contact_email: z.string().max(300).default(''),
  ddex_party_id: z.string().max(100).default(''),
  royalty_percent: z.string().max(20),
});

export function labelId(req: Request): number {
  if (!/^[1-9]\d{0,8}$/.test(String(req.params.id))) throw new HttpError(404, 'There is no such label.');
  return Number(req.params.id);
}

/** The form's fields, checked: a clear 400 for each thing wrong. */
export function parseLabelForm(body: unknown): LabelFields {
  const form = parseBody(labelForm, body);
  const name = form.name.trim();
  if (!name || name.length > 200) throw new HttpError(400, 'The label name must be 1 to 200 characters.');
  const email = form.contact_email.trim().toLowerCase();
  if (email && (!EMAIL.test(email) || email.length > 254))
    throw new HttpError(400, 'The contact must be an email address (statements are sent there), or left empty.');
  const partyId = form.ddex_party_id.trim().toUpperCase();
  if (partyId && !PARTY_ID.test(partyId)) throw new HttpError(400, 'A DDEX party id is letters and digits, such as PADPIDA2014120301U.');
  const percent = form.royalty_percent.trim();
  if (!/^\d{1,3}(\.\d{1,2})?$/.test(percent) || Number(percent) > 100)
    throw new HttpError(400, 'The royalty rate must be a percentage from 0 to 100, such as 70 or 62.5.');
  return { name, contactEmail: email || null, ddexPartyId: partyId || null, royaltyBasisPoints: Math.round(Number(percent) * 100) };
}

export const percentOf = (basisPoints: number) => `${basisPoints / 100}%`;

const describe = (f: LabelFields) =>
  `${f.name}; ${percentOf(f.royaltyBasisPoints)}; party ${f.ddexPartyId ?? 'none'}; contact ${f.contactEmail ? 'set' : 'none'}`;

export function labelsAdminRoutes(deps: AdminDeps): Router {
  const router = Router();
  const { db, clock } = deps;
  const duplicate = (error: unknown) => {
    throw isDuplicateKeyError(error) ? new HttpError(409, 'Another label already has that DDEX party id.') : error;
  };

  // Before /admin/labels/:id, whose number would not match these words.
  router.use(statementsAdminRoutes(deps));

  router.get('/admin/labels', async (_req, res) => {
    res.render('admin/labels/list', { title: 'Labels', section: 'labels', labels: await listLabels(db), percentOf });
  });

  router.get('/admin/labels/:id', async (req, res) => {
    const label = await findLabel(db, labelId(req));
    if (!label) throw new HttpError(404, 'There is no such label.');
    res.render('admin/labels/label', { title: label.name, section: 'labels', label, percentOf });
  });

  router.post('/admin/labels', async (req, res) => {
    const fields = parseLabelForm(req.body);
    const now = clock();
    const id = await db
      .transaction()
      .execute(async (tx) => {
        const added = await addLabel(tx, fields, now);
        await recordAudit(
          tx,
          { operatorId: operatorOf(req).id, action: 'label.add', target: `label:${added}`, detail: describe(fields) },
          now,
        );
        return added;
      })
      .catch(duplicate);
    flash(req, 'info', `Added label ${fields.name}.`);
    res.redirect(303, `/admin/labels/${id}`);
  });

  router.post('/admin/labels/:id', async (req, res) => {
    const id = labelId(req);
    const fields = parseLabelForm(req.body);
    const before = await findLabel(db, id);
    if (!before) throw new HttpError(404, 'There is no such label.');
    const now = clock();
    await db
      .transaction()
      .execute(async (tx) => {
        await updateLabel(tx, id, fields, now);
        await recordAudit(
          tx,
          {
            operatorId: operatorOf(req).id,
            action: 'label.edit',
            target: `label:${id}`,
            detail: `${percentOf(before.royalty_basis_points)} -> ${describe(fields)}`,
          },
          now,
        );
      })
      .catch(duplicate);
    flash(req, 'info', `Saved label ${fields.name}.`);
    res.redirect(303, `/admin/labels/${id}`);
  });

  return router;
}
