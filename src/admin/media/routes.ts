/**
 * Media: the encoding queue and the release-ZIP queue (src/media/) with what failed after every
 * attempt (format, track, last error, tries), and retrying one: it goes back to the queue with
 * fresh attempts, and the retry is in the audit log with what had failed.
 */
import { Router, type Request, type Response } from 'express';
import { HttpError } from '../../web/errors.js';
import { flash } from '../../web/flash.js';
import { recordAudit } from '../audit.js';
import { operatorOf } from '../access/session.js';
import type { AdminDeps } from '../deps.js';
import { encodingOf, failedEncodings, failedZips, queueCounts, retryFailed, zipOf } from './repository.js';

function jobId(req: Request): number {
  if (!/^[1-9]\d{0,11}$/.test(String(req.params.id))) throw new HttpError(404, 'There is no such job.');
  return Number(req.params.id);
}

export function mediaAdminRoutes(deps: AdminDeps): Router {
  const router = Router();
  const { db, clock } = deps;

  router.get('/admin/media', async (_req, res) => {
    const [counts, encodings, zips] = await Promise.all([queueCounts(db), failedEncodings(db), failedZips(db)]);
    res.render('admin/media/list', { title: 'Media', section: 'media', counts, encodings, zips, storage: deps.storage.location });
  });

  router.post('/admin/media/encodings/:id/retry', async (req: Request, res: Response) => {
    const id = jobId(req);
    const now = clock();
    const retried = await db.transaction().execute(async (tx) => {
      const job = await encodingOf(tx, id);
      if (!job || !(await retryFailed(tx, 'media_encodings', id, now))) return false;
      const detail = `track ${job.track_id}, ${job.format}; had failed with: ${job.last_error ?? '(no error recorded)'}`;
      await recordAudit(tx, { operatorId: operatorOf(req).id, action: 'media.encoding_retry', target: `encoding:${id}`, detail }, now);
      return true;
    });
    if (!retried) throw new HttpError(409, 'Only a failed encoding can be retried (this one is queued, being made, or made).');
    flash(req, 'info', `Encoding ${id} is queued again.`);
    res.redirect(303, '/admin/media');
  });

  router.post('/admin/media/zips/:id/retry', async (req: Request, res: Response) => {
    const id = jobId(req);
    const now = clock();
    const retried = await db.transaction().execute(async (tx) => {
      const job = await zipOf(tx, id);
      if (!job || !(await retryFailed(tx, 'media_zips', id, now))) return false;
      const detail = `release ${job.release_id}, ${job.format}; had failed with: ${job.last_error ?? '(no error recorded)'}`;
      await recordAudit(tx, { operatorId: operatorOf(req).id, action: 'media.zip_retry', target: `zip:${id}`, detail }, now);
      return true;
    });
    if (!retried) throw new HttpError(409, 'Only a failed release ZIP can be retried (this one is queued, being made, or made).');
    flash(req, 'info', `Release ZIP ${id} is queued again.`);
    res.redirect(303, '/admin/media');
  });

  return router;
}
