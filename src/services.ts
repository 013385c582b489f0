import { createBasketService } from './basket/basket.js';
import { createAffiliatesService } from './affiliates/service.js';
import { createAffiliateSignIn } from './affiliates/sign-in.js';
import { createUsageStats } from './analytics/usage-stats.js';
import { createDownloadLog } from './downloads/download-log.js';
import { coverVariants } from './catalogue/cover-variants.js';
import { createPageCache } from './catalogue/page-cache.js';
import { createCatalogueRepository } from './catalogue/repository.js';
import { createCatalogueService } from './catalogue/service.js';
import { visitorPageCache } from './catalogue/visitor-page-cache.js';
import { visitorTokens } from './web/security.js';
import type { Config, PayForItSettings, PayPalSettings } from './config.js';
import { fulfilOrder, sendSignInCode } from './customers/fulfilment.js';
import { sellerOf } from './config.js';
import { tellCustomer } from './customers/order-messages.js';
import { revokeOrderTracks } from './customers/repository.js';
import { createSignIn } from './customers/sign-in.js';
import type { DatabaseHandle } from './db/database.js';
import { createDownloadAccess } from './downloads/access.js';
import { DatabaseSessionStore } from './db/session-store.js';
import { createOrdersService } from './orders/service.js';
import { createPayForItClient } from './payments/payforit/client.js';
import { createPayForItMethod } from './payments/payforit/method.js';
import { createPayPalClient } from './payments/paypal/client.js';
import { createPayPalMethod } from './payments/paypal/method.js';
import { createRateLimitStores } from './web/rate-limit-store.js';
import { createMediaStorage } from './media/index.js';
import type { Ffmpeg } from './media/ffmpeg.js';
import { createMediaService } from './media/service.js';
import type { Logger } from 'pino';

export interface ServiceDeps {
  /** ffmpeg as found at start-up (src/media/ffmpeg.ts); absent: assumed there with every encoder (tests). */
  ffmpeg?: Ffmpeg;
  config: Config;
  database: DatabaseHandle;
  logger: Logger;
  clock: () => Date;
  paypal: PayPalSettings;
  payforit: PayForItSettings;
}

/**
 * Every service of the store, built once from explicit dependencies; src/app.ts mounts the HTTP
 * side of each. What is shared between processes (sessions, rate limits) lives in the database.
 */
export function buildServices({ config, database, logger, clock, paypal, payforit, ffmpeg }: ServiceDeps) {
  const db = database.db;
  /** Where links in messages point: PUBLIC_URL, or this machine's port. */
  const publicUrl = config.publicUrl ?? `http://localhost:${config.port}`;

  const storage = createMediaStorage(config.media.storage);
  const media = createMediaService({ db, storage, onSale: ffmpeg ? ffmpeg.formats : config.media.downloadFormats, clock });
  const catalogueRepo = createCatalogueRepository(db);
  const pageCache = createPageCache(config.catalogueCacheSeconds, clock);
  // One visitor-token maker for the CSRF check and the page cache, which fills each visitor's own token into a shared page.
  const visitorForms = visitorTokens(config.sessionSecret);
  const visitorPages = visitorPageCache(config.catalogueCacheSeconds, clock, (req, res) => visitorForms.tokenFor(req, res));
  const catalogue = createCatalogueService(catalogueRepo, config.prices, clock, pageCache);
  const baskets = createBasketService(catalogue);
  const covers = coverVariants(storage);
  const signIn = createSignIn({ db, secret: config.sessionSecret, clock, sendCode: sendSignInCode(config.storeName) });
  const affiliateSignIn = createAffiliateSignIn({ db, secret: config.sessionSecret, clock, storeName: config.storeName });
  const affiliates = createAffiliatesService({ db, settings: config.affiliates, clock });
  // Read when a message is written, by which time the methods below exist.
  const orderMessages = {
    storeName: config.storeName,
    publicUrl,
    methodName: (id: string) => methods.find((m) => m.id === id)?.words.name ?? id,
  };
  const orders = createOrdersService({
    db,
    clock,
    pendingMinutes: config.pendingOrderMinutes,
    vatBasisPoints: config.labels.vatBasisPoints,
    onPaid: [fulfilOrder({ signIn, storeName: config.storeName, publicUrl, clock, seller: sellerOf(config) }), affiliates.creditOrder],
    onRefunded: [
      (tx, orderId, now) => revokeOrderTracks(tx, orderId, now),
      affiliates.rejectOnRefund,
      tellCustomer('order-refunded', orderMessages),
    ],
    onCancelled: [tellCustomer('order-cancelled', orderMessages)],
  });
  const paypalClient = createPayPalClient({
    baseUrl: paypal.apiBase,
    clientId: paypal.clientId,
    clientSecret: paypal.clientSecret,
    timeoutMs: config.paypalTimeoutMs,
    clock,
  });
  const payforitClient = createPayForItClient({ ...payforit, clock });
  const methods = [
    createPayPalMethod({
      client: paypalClient,
      apiBase: paypal.apiBase,
      orders,
      webhookId: paypal.webhookId,
      storeName: config.storeName,
      logger,
    }),
    createPayForItMethod({
      client: payforitClient,
      orders,
      db,
      ...payforit,
      payPageBase: payforit.payPageBase ?? payforit.apiBase,
      logger,
      clock,
    }),
  ];
  /** The minute sweep's expiry, with a last look at the provider for each order (a failed look is logged, and the order expires: a payment that arrives later still makes it paid). */
  const expirePendingOrders = () =>
    orders.expireStale(async (payment) => {
      const method = methods.find((m) => m.id === payment.method);
      await method
        ?.check(payment.provider_ref)
        .catch((err: unknown) => logger.warn({ err, method: payment.method }, 'last look at a payment before expiry failed'));
    });
  const downloadAccess = createDownloadAccess({ db, clock, settings: { paidSessionHours: config.paidSessionDownloadHours } });
  const downloadLog = createDownloadLog({ db, logger });
  const usageStats = config.usageStats ? createUsageStats({ db, clock, logger, publicUrl: config.publicUrl }) : null;
  const sessionStore = new DatabaseSessionStore(db, clock, undefined, (error) =>
    logger.warn({ reason: error.message }, 'session store: an unreadable session was treated as none'),
  );
  // Rate-limit counts in the database too: a limit holds however many processes serve the store.
  const rateLimits = createRateLimitStores({ db, secret: config.sessionSecret, clock });

  return {
    publicUrl,
    storage,
    media,
    catalogueRepo,
    catalogue,
    visitorPages,
    visitorForms,
    covers,
    baskets,
    signIn,
    affiliateSignIn,
    affiliates,
    orders,
    methods,
    expirePendingOrders,
    downloadAccess,
    downloadLog,
    usageStats,
    sessionStore,
    rateLimits,
    /** After an operator's catalogue change: this process's page caches show it at once. */
    catalogueChanged: () => (pageCache.clear(), visitorPages.clear()),
    /** Stops timers; resolves once buffered usage counts and download log rows are written (before the database closes). */
    async close() {
      sessionStore.close();
      rateLimits.close();
      await Promise.all([usageStats?.close(), downloadLog.close()]);
    },
  };
}

export type StoreServices = ReturnType<typeof buildServices>;
