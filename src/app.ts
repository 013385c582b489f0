import path from 'node:path';
import compression from 'compression';
import express, { type Express } from 'express';
import session from 'express-session';
import type { Logger } from 'pino';
import { basketCount } from './basket/basket.js';
import { basketRoutes } from './basket/routes.js';
import { referralLanding, rememberReferral } from './affiliates/referral.js';
import { affiliateRoutes } from './affiliates/routes.js';
import { catalogueRoutes } from './catalogue/routes.js';
import { sellerOf, type Config, type PayForItSettings, type PayPalSettings } from './config.js';
import { ownedBasketLines } from './customers/owned-lines.js';
import { PACKAGE_ROOT } from './package-root.js';
import { accountRoutes } from './customers/routes.js';
import { customerSessionState, customerTimeouts } from './customers/session.js';
import { downloadRoutes, presignedTrackBeforeSession } from './downloads/routes.js';
import { checkoutRoutes } from './orders/checkout-routes.js';
import type { DatabaseHandle } from './db/database.js';
import { databaseAnswers } from './db/database.js';
import { errorHandler, notFound } from './web/errors.js';
import { exposeFlash } from './web/flash.js';
import { saveSessionBeforeRedirect } from './web/save-before-redirect.js';
import { requestLogger } from './web/logging.js';
import { csrfProtection, securityHeaders } from './web/security.js';
import { sessionPeek, type SessionPeek } from './web/session-peek.js';
import { ANALYTICS_HOSTS, cookieMaxAge, SESSION_COOKIE } from './privacy/cookies.js';
import { consentLocals, privacyRoutes } from './privacy/routes.js';
import { marketingRoutes, unsubscribePostRoute } from './privacy/marketing-routes.js';
import { smsStopRoute } from './privacy/sms-stop.js';
import { viewHelpers } from './web/view-helpers.js';
import { adminRoutes } from './admin/routes.js';
import { adminUploadParsing } from './admin/catalogue/uploads.js';
import { buildServices, type StoreServices } from './services.js';
import type { ShopperShortcut } from './catalogue/visitor-page-cache.js';
import type { Ffmpeg } from './media/ffmpeg.js';

export interface AppDeps {
  config: Config;
  database: DatabaseHandle;
  logger: Logger;
  clock?: () => Date;
  /** The PayPal account actually used: the configured one, or the local stand-in's. */
  paypal: PayPalSettings;
  /** The mobile-billing intermediary actually used: the configured one, or the local stand-in. */
  payforit: PayForItSettings;
  /** ffmpeg as found at start-up: which download formats it can make (absent: all configured). */
  ffmpeg?: Ffmpeg;
  /** True when payments go to local stand-ins: every page says so. */
  testMode: boolean;
  /** Extra apps served beside the store (the stand-ins in the zero-configuration demo). */
  mounts?: { path: string; handler: express.Handler }[];
  /** The test-mode messages page (sandbox/messages), when email or SMS go to local stand-ins; linked from the test-mode banner. */
  messagesPage?: { path: string; handler: express.Handler };
}

/** What the mounting functions below read: the app's settings and its services. */
interface Wiring {
  config: Config;
  database: DatabaseHandle;
  logger: Logger;
  clock: () => Date;
  services: StoreServices;
}

const EXPIRY_SWEEP_MS = 60_000;

/**
 * The Express app: the store's services (src/services.ts) behind its routes, mounted in the order
 * that matters: what needs no session first, then the session chain (sessions, bodies, CSRF, flash),
 * then every feature's routes, then the 404 and error pages.
 */
export function createApp(deps: AppDeps) {
  const { config, logger, testMode, mounts = [], messagesPage } = deps;
  const clock = deps.clock ?? (() => new Date());
  const services = buildServices({ ...deps, clock });
  const wiring: Wiring = { config, database: deps.database, logger, clock, services };
  const app = express();
  configureExpress(app, config);
  Object.assign(app.locals, viewHelpers, {
    storeName: config.storeName,
    contactEmail: config.contactEmail,
    testMode,
    messagesPageUrl: messagesPage?.path,
  });

  app.use(requestLogger(logger));
  app.use(securityHeadersFor(config, services));
  const peek = peekAtSessions(config, clock, services);
  // A track download from object storage is a redirect: nothing to compress and no page view to
  // count, so it is answered first (bench: the middleware below cost a fifth of such a download).
  app.use(
    presignedTrackBeforeSession({
      db: deps.database.db,
      media: services.media,
      clock,
      access: services.downloadAccess,
      log: services.downloadLog,
      peek,
    }),
  );
  if (services.usageStats) app.use(services.usageStats.middleware);
  app.use(referralLanding({ db: deps.database.db, settings: config.affiliates, clock, logger }));
  // A catalogue page already rendered goes out before sessions load: to visitors without a session,
  // and to shoppers whose session the chain would leave as it is (bench: the chain cost most of a page).
  // Kept pages carry their own compression, made once (visitor-page-cache.ts), so they go out before
  // the compression middleware too, and before the routes below are walked (bench: both allocate per
  // request, and the young generation is small).
  app.use(services.visitorPages.beforeSession(SESSION_COOKIE.name, shopperShortcut(peek)));
  // Everything else (HTML, CSS, JS and JSON) goes out compressed to a client that accepts it.
  app.use(compression());
  for (const mount of mounts) app.use(mount.path, mount.handler);
  mountBeforeSessions(app, wiring);
  mountSessionChain(app, wiring);
  mountFeatures(app, wiring);
  if (messagesPage) app.use(messagesPage.handler);
  app.use(notFound);
  app.use(errorHandler(logger));

  const stopSweeps = startSweeps(services, logger);
  return Object.assign(app, {
    orders: services.orders,
    methods: services.methods,
    /** What the minute sweep runs: exposed so a test (or an operator's script) can run it now. */
    expirePendingOrders: services.expirePendingOrders,
    affiliates: services.affiliates,
    usageStats: services.usageStats,
    downloadLog: services.downloadLog,
    /** Stops timers; resolves once buffered usage counts and download log rows are written (await it before closing the database). */
    close: async () => {
      stopSweeps();
      await services.close();
    },
  });
}

function configureExpress(app: Express, config: Config): void {
  app.set('trust proxy', config.trustProxy);
  app.set('views', path.join(PACKAGE_ROOT, 'views'));
  app.set('view engine', 'ejs');
  // Compiled templates are cached in every mode: rendering is the hot path of every page.
  app.set('view cache', true);
  app.disable('x-powered-by');
}

/** Every response's security headers (src/web/security.ts): the providers' pages are the only form targets elsewhere. */
function securityHeadersFor(config: Config, { methods }: StoreServices) {
  return securityHeaders({
    behindTls: config.trustProxy !== false && (config.publicUrl?.startsWith('https://') ?? true),
    formTargets: [...new Set(methods.flatMap((m) => m.redirectOrigins))],
    analytics: config.gaMeasurementId ? ANALYTICS_HOSTS : undefined,
  });
}

/** Static files, health, and what proves itself by signature (providers' notifications, one-click unsubscribe, STOP by text). */
function mountBeforeSessions(app: Express, { config, database, clock, services }: Wiring): void {
  const { methods } = services;
  app.use('/static', express.static(path.join(PACKAGE_ROOT, 'public'), { maxAge: '1h', index: false }));
  app.get('/healthz', async (_req, res) => {
    const ok = await databaseAnswers(database.db);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', database: ok ? 'up' : 'down' });
  });
  // Providers' notifications prove themselves by signature; they come before sessions and CSRF.
  for (const method of methods) app.use(method.notificationRoutes());
  app.use(unsubscribePostRoute({ db: database.db, secret: config.sessionSecret, clock }));
  // STOP by text: only with a real Twilio account (its auth token signs the webhook).
  if (config.twilio) app.use(smsStopRoute({ db: database.db, authToken: config.twilio.authToken, publicUrl: services.publicUrl, clock }));
}

/** Reads a session before the session chain, for a GET the chain would leave unchanged (src/web/session-peek.ts). */
function peekAtSessions(config: Config, clock: () => Date, services: StoreServices): SessionPeek {
  return sessionPeek({
    cookieName: SESSION_COOKIE.name,
    secret: config.sessionSecret,
    store: services.sessionStore,
    isQuiet: (session) => ['none', 'current'].includes(customerSessionState(session, clock().getTime())),
  });
}

/**
 * What a shared catalogue page needs of a shopper's session, read before the session chain: the
 * same values the chain's middleware below would give the page (csrfProtection's token, the basket
 * count, customerTimeouts' signedIn), for a session those middleware would not change.
 */
function shopperShortcut(peek: SessionPeek): ShopperShortcut {
  return {
    peek,
    localsOf: (session) => ({
      csrfToken: () => session.csrfToken ?? '',
      basketCount: basketCount(session.basket),
      signedIn: session.customerId !== undefined,
    }),
  };
}

/** Sessions, request bodies, CSRF, flash messages, time-outs, consent, and what every page shows. */
function mountSessionChain(app: Express, { config, database, clock, services }: Wiring): void {
  app.use(
    session({
      name: SESSION_COOKIE.name,
      secret: config.sessionSecret,
      store: services.sessionStore,
      resave: false,
      saveUninitialized: false,
      // 'auto' marks the cookie Secure whenever the request came over TLS (as TRUST_PROXY reports it).
      cookie: { httpOnly: true, sameSite: 'lax', secure: 'auto', maxAge: cookieMaxAge(config, SESSION_COOKIE.name) },
    }),
  );
  app.use(saveSessionBeforeRedirect);
  app.use(express.urlencoded({ extended: false, limit: '20kb' }));
  app.use(express.json({ limit: '100kb' }));
  const csrf = csrfProtection(config.sessionSecret, { publicUrl: config.publicUrl, visitor: services.visitorForms });
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
    Object.defineProperty(res.locals, 'basketCount', { get: () => basketCount(req.session.basket), enumerable: true, configurable: true });
    next();
  });
}

/** Every feature's pages and actions. */
function mountFeatures(app: Express, { config, database, logger, clock, services }: Wiring): void {
  const db = database.db;
  const { rateLimits, methods, orders, signIn, publicUrl } = services;
  app.use(
    catalogueRoutes({
      catalogue: services.catalogue,
      repo: services.catalogueRepo,
      storage: services.storage,
      publicMediaUrl: config.media.publicMediaUrl,
      offeredFormats: services.media.offered,
      publicUrl: config.publicUrl,
      covers: services.covers,
      visitorPages: services.visitorPages,
    }),
  );
  app.use(basketRoutes({ baskets: services.baskets, ownedLines: ownedBasketLines(db) }));
  app.use(
    checkoutRoutes({
      baskets: services.baskets,
      orders,
      methods,
      publicUrl: config.publicUrl,
      activeAffiliate: services.affiliates.activeAffiliate,
      downloads: services.downloadAccess,
      seller: sellerOf(config),
    }),
  );
  for (const method of methods) app.use(method.routes());
  app.use(
    accountRoutes({
      db,
      signIn,
      clock,
      limitPerClient: config.signInLimitPerClient,
      rateLimits,
      downloads: services.downloadAccess,
      offeredFormats: services.media.offered,
    }),
  );
  app.use(
    affiliateRoutes({
      db,
      signIn: services.affiliateSignIn,
      clock,
      limitPerClient: config.signInLimitPerClient,
      publicUrl: config.publicUrl,
      rateLimits,
    }),
  );
  app.use(downloadRoutes({ db, media: services.media, clock, access: services.downloadAccess, log: services.downloadLog }));
  app.use(privacyRoutes({ db, config, clock, rateLimits, rememberReferral: rememberReferral({ db, settings: config.affiliates }) }));
  app.use(marketingRoutes({ db, secret: config.sessionSecret, clock }));
  app.use(
    adminRoutes({
      db,
      clock,
      config,
      logger,
      orders,
      methods,
      signIn,
      publicUrl,
      rateLimits,
      catalogueChanged: services.catalogueChanged,
      storage: services.storage,
    }),
  );
}

/** Every minute: pending orders past their time expire (after a last look at the provider), commissions past their hold are approved. */
function startSweeps({ expirePendingOrders, affiliates }: StoreServices, logger: Logger): () => void {
  const sweep = setInterval(() => {
    void expirePendingOrders().catch((err) => logger.error({ err }, 'expiring orders failed'));
    void affiliates.approveDueCommissions().catch((err) => logger.error({ err }, 'approving commissions failed'));
  }, EXPIRY_SWEEP_MS);
  sweep.unref();
  return () => clearInterval(sweep);
}

export type StoreApp = ReturnType<typeof createApp>;
