import { Router } from 'express';
import type { AdminDeps } from '../deps.js';
import { dashboardFigures } from './service.js';

/** The admin home: sales, best sellers, payment methods, affiliates, outbox health and usage, all drawn on the server. */
export function dashboardAdminRoutes(deps: AdminDeps): Router {
  const router = Router();
  router.get('/admin', async (_req, res) => {
    const figures = await dashboardFigures(deps.db, deps.clock());
    res.render('admin/dashboard/index', {
      title: 'Dashboard',
      section: 'dashboard',
      ...figures,
      methodLabels: Object.fromEntries(deps.methods.map((m) => [m.id, m.label])),
    });
  });
  return router;
}
