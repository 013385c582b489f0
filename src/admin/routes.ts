import { Router } from 'express';
import { adminSignInRoutes, adminSignOutRoutes } from './access/routes.js';
import { requireOperator } from './access/session.js';
import { createOperatorSignIn } from './access/sign-in.js';
import { auditAdminRoutes } from './audit-routes.js';
import type { AdminDeps } from './deps.js';
import { ordersAdminRoutes } from './orders/routes.js';
import { dashboardAdminRoutes } from './dashboard/routes.js';
import { customersAdminRoutes } from './customers/routes.js';
import { catalogueAdminRoutes } from './catalogue/routes.js';
import { affiliatesAdminRoutes } from './affiliates/routes.js';
import { messagesAdminRoutes } from './messages/routes.js';
import { labelsAdminRoutes } from './labels/routes.js';
import { mediaAdminRoutes } from './media/routes.js';

/**
 * The admin area under /admin: the sign-in pages, then the guard (404 for anyone who is not a
 * signed-in operator), then every section. A section is `xxxAdminRoutes(deps)` with paths
 * starting /admin/. Mounted in src/app.ts after sessions and CSRF, before the 404 page.
 */
export function adminRoutes(deps: AdminDeps): Router {
  const router = Router();
  const signIn = createOperatorSignIn({
    db: deps.db,
    secret: deps.config.sessionSecret,
    clock: deps.clock,
    storeName: deps.config.storeName,
  });

  // Admin pages carry personal data and change with every action: never stored by any cache.
  router.use('/admin', (_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    res.locals.robots = 'noindex, nofollow';
    next();
  });
  router.use(adminSignInRoutes(deps, signIn));
  router.use('/admin', requireOperator(signIn, deps.clock));

  router.use(adminSignOutRoutes(deps));
  router.use(ordersAdminRoutes(deps));
  router.use(auditAdminRoutes(deps));
  router.use(dashboardAdminRoutes(deps));
  router.use(customersAdminRoutes(deps));
  router.use(catalogueAdminRoutes(deps));
  router.use(affiliatesAdminRoutes(deps));
  router.use(labelsAdminRoutes(deps));
  router.use(messagesAdminRoutes(deps));
  router.use(mediaAdminRoutes(deps));

  return router;
}
