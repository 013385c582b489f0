import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import type { MediaStorage } from '../media/storage.js';
import type { OrdersService } from '../orders/service.js';
import type { PaymentMethod } from '../payments/payment-method.js';
import type { SignIn } from '../customers/sign-in.js';
import type { RateLimitStores } from '../web/rate-limit-store.js';

/**
 * Everything the admin area needs, passed in by createApp (src/app.ts). Each section takes what it
 * uses from here; add fields with small edits.
 */
export interface AdminDeps {
  db: Db;
  clock: () => Date;
  config: Config;
  logger: Logger;
  orders: OrdersService;
  methods: PaymentMethod[];
  /** Customers' sign-in, for the fresh sign-in link a re-sent confirmation carries. */
  signIn: SignIn;
  /** Where links in messages point: PUBLIC_URL, or http://localhost:PORT. */
  publicUrl: string;
  /** Rate-limit counts kept in the database (shared by every app process). */
  rateLimits: RateLimitStores;
  /** Empties this process's catalogue page caches after an operator's catalogue change (src/admin/catalogue/). */
  catalogueChanged: () => void;
  /** Where covers and imported masters are written (src/media/). */
  storage: MediaStorage;
}
