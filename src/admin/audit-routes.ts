import { Router } from 'express';
import { z } from 'zod';
import { pageNumber, parseQuery } from '../web/params.js';
import { readAudit } from './audit.js';
import type { AdminDeps } from './deps.js';

const auditQuery = z.object({
  action: z.string().trim().max(60).optional(),
  target: z.string().trim().max(190).optional(),
  page: pageNumber,
});

/** The audit log: every change an operator made, newest first. */
export function auditAdminRoutes({ db }: AdminDeps): Router {
  const router = Router();
  router.get('/admin/audit', async (req, res) => {
    const { action, target, page } = parseQuery(auditQuery, req.query);
    const { rows, more } = await readAudit(db, { action: action || undefined, target: target || undefined, page });
    res.render('admin/audit', { title: 'Audit log', rows, more, page, filter: { action: action ?? '', target: target ?? '' } });
  });
  return router;
}
