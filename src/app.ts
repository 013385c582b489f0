import path from 'node:path';
import express from 'express';
import session from 'express-session';
import type { Logger } from 'pino';
import { basketCount, createBasketService } from './basket/basket.js';
import { basketRoutes } from './basket/routes.js';
import { createCatalogueRepository } from './catalogue/repository.js';
import { catalogueRoutes } from './catalogue/routes.js';
import { createCatalogueService } from './catalogue/service.js';
import type { Config } from './config.js';
import type { DatabaseHandle } from './db/database.js';
import { databaseAnswers } from './db/database.js';
import { DatabaseSessionStore } from './db/session-store.js';
import { errorHandler, notFound } from './web/errors.js';
import { exposeFlash } from './web/flash.js';
import { requestLogger } from './web/logging.js';
import { csrfProtection, securityHeaders } from './web/security.js';
import { viewHelpers } from './web/view-helpers.js';

export interface AppDeps {
  config: Config;
  database: DatabaseHandle;
  logger: Logger;
  clock?: () => Date;
}

const ROOT = path.resolve(import.meta.dirname, '..');
const SESSION_DAYS = 7;

export function createApp({ config, database, logger, clock = () => new Date() }: AppDeps) {
  const app = express();
  const behindTls = config.trustProxy !== false && (config.publicUrl?.startsWith('https://') ?? true);
  app.set('trust proxy', config.trustProxy);
  app.set('views', path.join(ROOT, 'views'));
  app.set('view engine', 'ejs');
  // Compiled templates are cached in every mode: rendering is the hot path of every page.
  app.set('view cache', true);
  app.disable('x-powered-by');
  Object.assign(app.locals, viewHelpers, { storeName: config.storeName, contactEmail: config.contactEmail });

  app.use(requestLogger(logger));
  app.use(securityHeaders({ behindTls }));
  app.use('/static', express.static(path.join(ROOT, 'public'), { maxAge: '1h', index: false }));
  app.get('/healthz', async (_req, res) => {
    const ok = await databaseAnswers(database.db);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', database: ok ? 'up' : 'down' });
  });

  const sessionStore = new DatabaseSessionStore(database.db, clock);
  app.use(
    session({
      name: 'sid',
      secret: config.sessionSecret,
      store: sessionStore,
      resave: false,
      saveUninitialized: false,
      // 'auto' marks the cookie Secure whenever the request came over TLS (as TRUST_PROXY reports it).
      cookie: { httpOnly: true, sameSite: 'lax', secure: 'auto', maxAge: SESSION_DAYS * 24 * 3600 * 1000 },
    }),
  );
  app.use(express.urlencoded({ extended: false, limit: '20kb' }));
  app.use(express.json({ limit: '100kb' }));
  const csrf = csrfProtection();
  app.use(csrf.exposeToken);
  app.use(csrf.protect);
  app.use(exposeFlash);
  app.use((req, res, next) => {
    res.locals.currentUrl = req.originalUrl;
    res.locals.searchQuery = typeof req.query.q === 'string' ? req.query.q : '';
    res.locals.basketCount = basketCount(req.session.basket);
    next();
  });

  const catalogueRepo = createCatalogueRepository(database.db);
  const catalogue = createCatalogueService(catalogueRepo, config.prices, clock);
  app.use(catalogueRoutes({ catalogue, repo: catalogueRepo, mediaDir: config.mediaDir, publicUrl: config.publicUrl }));
  app.use(basketRoutes({ baskets: createBasketService(catalogue) }));

  app.use(notFound);
  app.use(errorHandler(logger));

  return Object.assign(app, { close: () => sessionStore.close() });
}

export type StoreApp = ReturnType<typeof createApp>;
