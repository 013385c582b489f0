/**
 * Media: the encoding queue and the release-ZIP queue (src/media/) with what failed after every
 * attempt (format, track, last error, tries), and retrying one: it goes back to the queue with
 * fresh attempts, and the retry is in the audit log with what had failed.
 */
import { Router, type Request, type Response } from 'express';
import type { Transaction } from 'kysely';
import type { Database } from '../../db/schema.js';
import { HttpError } from '../../web/errors.js';
import { flash } from '../../web/flash.js';
import { recordAudit } from '../audit.js';
import { operatorOf } from '../access/session.js';
import type { AdminDeps } from '../deps.js';
import { encodingOf, failedEncodings, failedZips, queueCounts, retryFailed, zipOf } from './repository.js';

/** A queue an operator can retry a failed job of: its URL part, its table, its name, its audit entry, and what a job is of. */
interface RetryableQueue {
  path: string;
  table: 'media_encodings' | 'media_zips';
  name: string;
  action: string;
  target: string;
  /** The job (what it makes, in which format, and how it last failed), or undefined. */
  find(tx: Transaction<Database>, id: number): Promise<{ subject: string; format: string; last_error: string | null } | undefined>;
}

const RETRYABLE: RetryableQueue[] = [
  {
    path: 'encodings',
    table: 'media_encodings',
    name: 'encoding',
    action: 'media.encoding_retry',
    target: 'encoding',
    find: async (tx, id) => {
      const job = await encodingOf(tx, id);
      return job && { ...job, subject: `track ${job.track_id}` };
    },
  },
  {
    path: 'zips',
    table: 'media_zips',
    name: 'release ZIP',
    action: 'media.zip_retry',
    target: 'zip',
    find: async (tx, id) => {
      const job = await zipOf(tx, id);
      return job && { ...job, subject: `release ${job.release_id}` };
    },
  },
];

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

  // Each queue's failed job goes back the same way; only its row, its words and its audit entry differ.
  for (const queue of RETRYABLE) {
    router.post(`/admin/media/${queue.path}/:id/retry`, async (req: Request, res: Response) => {
      const id = jobId(req);
      const now = clock();
      const retried = await db.transaction().execute(async (tx) => {
        const job = await queue.find(tx, id);
        if (!job || !(await retryFailed(tx, queue.table, id, now))) return false;
        const detail = `${job.subject}, ${job.format}; had failed with: ${job.last_error ?? '(no error recorded)'}`;
        await recordAudit(tx, { operatorId: operatorOf(req).id, action: queue.action, target: `${queue.target}:${id}`, detail }, now);
        return true;
      });
      if (!retried) throw new HttpError(409, `Only a failed ${queue.name} can be retried (this one is queued, being made, or made).`);
      flash(req, 'info', `${queue.name[0]!.toUpperCase()}${queue.name.slice(1)} ${id} is queued again.`);
      res.redirect(303, '/admin/media');
    });
  }

  return router;
}
