import path from 'node:path';
import express from 'express';
import session from 'express-session';
import type { Logger } from 'pino';
import { basketCount, createBasketService } from './basket/basket.js';
import { basketRoutes } from './basket/routes.js';
import { referralLanding } from './affiliates/referral.js';
import { affiliateRoutes } from './affiliates/routes.js';
import { createAffiliatesService } from './affiliates/service.js';
import { createAffiliateSignIn } from './affiliates/sign-in.js';
import { createPageCache } from './catalogue/page-cache.js';
import { visitorPageCache } from './catalogue/visitor-page-cache.js';
import { createCatalogueRepository } from './catalogue/repository.js';
import { catalogueRoutes } from './catalogue/routes.js';
import { createCatalogueService } from './catalogue/service.js';
import type { Config, PayForItSettings, PayPalSettings } from './config.js';
import { fulfilOrder, sendSignInCode } from './customers/fulfilment.js';
import { ownedBasketLines } from './customers/owned-lines.js';
import { revokeOrderTracks } from './customers/repository.js';
import { accountRoutes } from './customers/routes.js';
import { customerTimeouts } from './customers/session.js';
import { createSignIn } from './customers/sign-in.js';
import { downloadRoutes } from './downloads/routes.js';
import { checkoutRoutes } from './orders/checkout-routes.js';
import { createOrdersService } from './orders/service.js';
import { createPayPalClient } from './payments/paypal/client.js';
import { createPayPalMethod } from './payments/paypal/method.js';
import { createPayForItClient } from './payments/payforit/client.js';
import { createPayForItMethod } from './payments/payforit/method.js';
import type { DatabaseHandle } from './db/database.js';
import { databaseAnswers } from './db/database.js';
import { DatabaseSessionStore } from './db/session-store.js';
import { errorHandler, notFound } from './web/errors.js';
import { createRateLimitStores } from './web/rate-limit-store.js';
import { exposeFlash } from './web/flash.js';
import { requestLogger } from './web/logging.js';
import { csrfProtection, securityHeaders } from './web/security.js';
import { ANALYTICS_HOSTS, cookieMaxAge, SESSION_COOKIE } from './privacy/cookies.js';
import { consentLocals, privacyRoutes } from './privacy/routes.js';
import { marketingRoutes, unsubscribePostRoute } from './privacy/marketing-routes.js';
import { smsStopRoute } from './privacy/sms-stop.js';
import { viewHelpers } from './web/view-helpers.js';
import { adminRoutes } from './admin/routes.js';
import { adminUploadParsing } from './admin/catalogue/uploads.js';
import { createUsageStats } from './analytics/usage-stats.js';

export interface AppDeps {
  config: Config;
  database: DatabaseHandle;
  logger: Logger;
  clock?: () => Date;
  /** The PayPal account actually used: the configured one, or the local stand-in's. */
  paypal: PayPalSettings;
  /** The mobile-billing intermediary actually used: the configured one, or the local stand-in. */
  payforit: PayForItSettings;
  /** True when payments go to local stand-ins: every page says so. */
  testMode: boolean;
  /** Extra apps served beside the store (the stand-ins in the zero-configuration demo). */
  mounts?: { path: string; handler: express.Handler }[];
  /** The test-mode messages page (src/sandbox/messages), when email or SMS go to local stand-ins; linked from the test-mode banner. */
  messagesPage?: { path: string; handler: express.Handler };
}

const ROOT = path.resolve(import.meta.dirname, '..');

const EXPIRY_SWEEP_MS = 60_000;

export function createApp({ config, database, logger, clock = () => new Date(), paypal, payforit, testMode, mounts = [], messagesPage }: AppDeps) {
  const app = express();
  const behindTls = config.trustProxy !== false && (config.publicUrl?.startsWith('https://') ?? true);
  app.set('trust proxy', config.trustProxy);
  app.set('views', path.join(ROOT, 'views'));
  app.set('view engine', 'ejs');
  // Compiled templates are cached in every mode: rendering is the hot path of every page.
  app.set('view cache', true);
  app.disable('x-powered-by');
  Object.assign(app.locals, viewHelpers, { storeName: config.storeName, contactEmail: config.contactEmail, testMode, messagesPageUrl: messagesPage?.path });

  const catalogueRepo = createCatalogueRepository(database.db);
  const pageCache = createPageCache(config.catalogueCacheSeconds, clock);
  const visitorPages = visitorPageCache(config.catalogueCacheSeconds, clock);
  const catalogue = createCatalogueService(catalogueRepo, config.prices, clock, pageCache);
  const baskets = createBasketService(catalogue);
  const signIn = createSignIn({ db: database.db, secret: config.sessionSecret, clock, sendCode: sendSignInCode(config.storeName) });
  const affiliates = createAffiliatesService({ db: database.db, settings: config.affiliates, clock });
  const orders = createOrdersService({
    db: database.db,
    clock,
    pendingMinutes: config.pendingOrderMinutes,
    onPaid: [fulfilOrder({ signIn, storeName: config.storeName, publicUrl: config.publicUrl ?? `http://localhost:${config.port}`, clock }), affiliates.creditOrder],
    onRefunded: [(tx, orderId, now) => revokeOrderTracks(tx, orderId, now), affiliates.rejectOnRefund],
  });
  const paypalClient = createPayPalClient({ baseUrl: paypal.apiBase, clientId: paypal.clientId, clientSecret: paypal.clientSecret, timeoutMs: config.paypalTimeoutMs, clock });
  const payforitClient = createPayForItClient({ ...payforit, clock });
  const methods = [
    createPayPalMethod({ client: paypalClient, apiBase: paypal.apiBase, orders, webhookId: paypal.webhookId, storeName: config.storeName, logger }),
    createPayForItMethod({ client: payforitClient, orders, db: database.db, ...payforit, payPageBase: payforit.payPageBase ?? payforit.apiBase, logger, clock }),
  ];
  app.use(requestLogger(logger));
  const usageStats = config.usageStats ? createUsageStats({ db: database.db, clock, logger, publicUrl: config.publicUrl }) : null;
  if (usageStats) app.use(usageStats.middleware);
  for (const mount of mounts) app.use(mount.path, mount.handler);
  app.use(securityHeaders({ behindTls, formTargets: [...new Set(methods.flatMap((m) => m.redirectOrigins))], analytics: config.gaMeasurementId ? ANALYTICS_HOSTS : undefined }));
  app.use('/static', express.static(path.join(ROOT, 'public'), { maxAge: '1h', index: false }));
  app.use(referralLanding({ db: database.db, settings: config.affiliates, clock, logger }));
  app.get('/healthz', async (_req, res) => {
    const ok = await databaseAnswers(database.db);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', database: ok ? 'up' : 'down' });
  });

  // Providers' notifications prove themselves by signature; they come before sessions and CSRF.
  for (const method of methods) app.use(method.notificationRoutes());
  app.use(unsubscribePostRoute({ db: database.db, secret: config.sessionSecret, clock }));
  // STOP by text: only with a real Twilio account (its auth token signs the webhook).
  if (config.twilio) app.use(smsStopRoute({ db: database.db, authToken: config.twilio.authToken, publicUrl: config.publicUrl ?? `http://localhost:${config.port}`, clock }));

  // A catalogue page already rendered for visitors without a session goes out before sessions load (bench: the session and the chain after it cost most of a page).
  app.use(visitorPages.beforeSession(SESSION_COOKIE.name));
  const sessionStore = new DatabaseSessionStore(database.db, clock);
  // Rate-limit counts in the database too: a limit holds however many processes serve the store.
  const rateLimits = createRateLimitStores({ db: database.db, secret: config.sessionSecret, clock });
  app.use(
    session({
      name: SESSION_COOKIE.name,
      secret: config.sessionSecret,
      store: sessionStore,
      resave: false,
      saveUninitialized: false,
      // 'auto' marks the cookie Secure whenever the request came over TLS (as TRUST_PROXY reports it).
      cookie: { httpOnly: true, sameSite: 'lax', secure: 'auto', maxAge: cookieMaxAge(config, SESSION_COOKIE.name) },
    }),
  );
  app.use(express.urlencoded({ extended: false, limit: '20kb' }));
  app.use(express.json({ limit: '100kb' }));
  const csrf = csrfProtection(config.sessionSecret, clock);
  app.use(csrf.exposeToken);
  // An operator's file upload (multipart) is parsed here so that the check below finds its CSRF token.
  app.use(adminUploadParsing({ db: database.db, clock }));
  app.use(csrf.protect);
  app.use(exposeFlash);
  app.use(customerTimeouts(clock));
  app.use(consentLocals(config));
  app.use((req, res, next) => {
    res.locals.currentUrl = req.originalUrl;
    res.locals.searchQuery = typeof req.query.q === 'string' ? req.query.q : '';
    // A getter: a page that changes the basket while rendering still shows the right count.
    Object.defineProperty(res.locals, 'basketCount', { get: () => basketCount(req.session.basket), enumerable: true });
    next();
  });

  app.use(catalogueRoutes({ catalogue, repo: catalogueRepo, mediaDir: config.mediaDir, publicUrl: config.publicUrl, visitorPages }));
  app.use(basketRoutes({ baskets, ownedLines: ownedBasketLines(database.db) }));
  app.use(checkoutRoutes({ baskets, orders, methods, publicUrl: config.publicUrl, activeAffiliate: affiliates.activeAffiliate }));
  for (const method of methods) app.use(method.routes());
  if (messagesPage) app.use(messagesPage.handler);
  app.use(accountRoutes({ db: database.db, signIn, clock, limitPerClient: config.signInLimitPerClient, rateLimits }));
  app.use(affiliateRoutes({ db: database.db, signIn: createAffiliateSignIn({ db: database.db, secret: config.sessionSecret, clock, storeName: config.storeName }), clock, limitPerClient: config.signInLimitPerClient, publicUrl: config.publicUrl, rateLimits }));
  app.use(downloadRoutes({ db: database.db, mediaDir: config.mediaDir, clock }));
  app.use(privacyRoutes({ db: database.db, config, clock, rateLimits }));
  app.use(marketingRoutes({ db: database.db, secret: config.sessionSecret, clock }));
  app.use(adminRoutes({ db: database.db, clock, config, logger, orders, methods, signIn, publicUrl: config.publicUrl ?? `http://localhost:${config.port}`, rateLimits, catalogueChanged: () => (pageCache.clear(), visitorPages.clear()) }));

  app.use(notFound);
  app.use(errorHandler(logger));

  const expirySweep = setInterval(() => {
    void orders.expireStale().catch((err) => logger.error({ err }, 'expiring orders failed'));
    void affiliates.approveDueCommissions().catch((err) => logger.error({ err }, 'approving commissions failed'));
  }, EXPIRY_SWEEP_MS);
  expirySweep.unref();

  return Object.assign(app, {
    orders,
    methods,
    affiliates,
    usageStats,
    /** Stops timers; resolves once buffered usage counts are written (await it before closing the database). */
    close: async () => {
      clearInterval(expirySweep);
      sessionStore.close();
      rateLimits.close();
      await usageStats?.close();
    },
  });
}

export type StoreApp = ReturnType<typeof createApp>;
