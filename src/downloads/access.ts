import type { Request } from 'express';
import type { SessionData } from 'express-session';
import { toDbTime } from '../db/dialect.js';
import { customerIdOf } from '../customers/session.js';
import type { Db } from '../db/database.js';
import { placedOrderRefs } from '../orders/session-orders.js';
import { groupByRelease, type LibraryRelease } from './library.js';
import { library, preferredFormat } from './repository.js';

declare module 'express-session' {
  interface SessionData {
    /** The download format a buyer who is not signed in chose last (a signed-in customer's is on their row). */
    downloadFormat: string;
  }
}

/** The format this browser's buyer chose last, when they are not signed in. */
export const sessionFormat = (req: Request): string | null => req.session?.downloadFormat ?? null;

/** Remembers a paid-session buyer's choice in their session (written only when it changes). */
export function rememberSessionFormat(req: Request, format: string): void {
  if (req.session && req.session.downloadFormat !== format) req.session.downloadFormat = format;
}

/**
 * Who is asking to download, as the ownership check (repository.ts) reads it: the signed-in
 * customer (everything their account owns), and the orders this browser placed, which give
 * the music of each such order for a while after it was paid, without signing in. The time is
 * counted from the payment, and the order's status and entitlements are checked on every
 * download, so a refund or the end of the window stops it at once.
 */
export interface DownloadHolder {
  customerId: number | undefined;
  /** References of the orders this browser session placed (src/orders/session-orders.ts). */
  orderRefs: string[];
  /** Orders paid at or after this database time still give their music to the session that placed them. */
  paidSince: string;
}

export interface DownloadAccessSettings {
  /** PAID_SESSION_DOWNLOAD_HOURS: how long after payment the paying browser may download without signing in (0: never). */
  paidSessionHours: number;
}

export function downloadHolder(req: Request, now: Date, settings: DownloadAccessSettings): DownloadHolder {
  return sessionHolder({ customerId: customerIdOf(req), orderRefs: placedOrderRefs(req) }, now, settings);
}

/** The same, from a session read before the session chain (src/web/session-peek.ts). */
export function sessionHolder(
  session: Readonly<Partial<Pick<SessionData, 'customerId' | 'orderRefs'>>>,
  now: Date,
  { paidSessionHours }: DownloadAccessSettings,
): DownloadHolder {
  return {
    customerId: session.customerId,
    orderRefs: paidSessionHours > 0 ? (session.orderRefs ?? []) : [],
    paidSince: toDbTime(new Date(now.getTime() - paidSessionHours * 3600_000)),
  };
}

/** True when the request can own nothing: not signed in, and no order placed in this browser. */
export function holdsNothing(holder: DownloadHolder): boolean {
  return holder.customerId === undefined && holder.orderRefs.length === 0;
}

/**
 * The music a request may download, grouped for a page: "Your music" (everything), or one order's
 * (the thank-you page). The download routes check the same way on every file.
 */
export function createDownloadAccess({ db, clock, settings }: { db: Db; clock: () => Date; settings: DownloadAccessSettings }) {
  const holderOf = (req: Request) => downloadHolder(req, clock(), settings);
  return {
    settings,
    holderOf,
    holderOfSession: (session: Parameters<typeof sessionHolder>[0]) => sessionHolder(session, clock(), settings),
    /** The format a plain "Download" gives: the signed-in customer's last choice, else this session's. */
    async preferredFormat(req: Request): Promise<string | null> {
      const customerId = customerIdOf(req);
      return customerId === undefined ? sessionFormat(req) : preferredFormat(db, customerId);
    },
    async music(req: Request, orderId?: number): Promise<LibraryRelease[]> {
      const holder = holderOf(req);
      return holdsNothing(holder) ? [] : groupByRelease(await library(db, holder, orderId));
    },
  };
}

export type DownloadAccess = ReturnType<typeof createDownloadAccess>;
