import type { Transaction } from 'kysely';
import type { PricedBasket } from '../basket/basket.js';
import { findOrCreateCustomer, recordMarketingChoice, type Contact } from '../customers/repository.js';
import type { Db } from '../db/database.js';
import { toDbTime } from '../db/dialect.js';
import type { Database, OrderTable } from '../db/schema.js';
import * as sql from './repository.js';
import { newOrderReference } from './reference.js';

export interface CaptureFacts {
  method: string;
  providerRef: string;
  captureRef: string;
  amountPence: number;
  currency: string;
  contact: Contact;
  /** What told us: the shopper's return, a webhook, a status query. Kept in the event. */
  source: string;
  /** The country of sale (ISO 3166 alpha-2) when the provider says it: the only "where" kept. */
  countryCode?: string | null;
}

/** Two upper-case letters, or nothing: a provider's odd answer never becomes a stored value. */
const countryCodeOrNull = (code: string | null | undefined) => (code && /^[A-Z]{2}$/.test(code) ? code : null);

export type SettleResult = 'paid' | 'already-paid' | 'mismatch' | 'unknown-payment';

export type PaidOrder = Pick<OrderTable, 'reference' | 'total_pence' | 'affiliate_id' | 'marketing_opt_in'> & {
  id: number;
  vat_basis_points: number;
};

/** Work that must happen in the same transaction as the payment (entitlements, messages, commission). */
export type OnPaid = (tx: Transaction<Database>, order: PaidOrder, customerId: number, now: string) => Promise<void>;

export interface OrdersDeps {
  db: Db;
  clock: () => Date;
  pendingMinutes: number;
  /** VAT_RATE in basis points: kept on each order, as the rate its VAT-inclusive prices carried. */
  vatBasisPoints?: number;
  onPaid?: OnPaid[];
  /** Work in the refund's transaction (downloads stop, commission is rejected, the customer is told). */
  onRefunded?: OnOrderChange[];
  /** Work in the transaction that cancels a pending order (the customer is told, when one is known). */
  onCancelled?: OnOrderChange[];
}

/** A step run once, in the transaction of a state change, only by the caller whose transition took effect. */
export type OnOrderChange = (tx: Transaction<Database>, orderId: number, now: string) => Promise<void>;

export function createOrdersService({
  db,
  clock,
  pendingMinutes,
  vatBasisPoints = 2000,
  onPaid = [],
  onRefunded = [],
  onCancelled = [],
}: OrdersDeps) {
  const now = () => toDbTime(clock());

  /** Cancels a pending order in the caller's transaction; its steps run only if this call made the change. */
  async function cancelIn(
    tx: Transaction<Database>,
    orderId: number,
    detail: string,
    at: string,
    lockedFrom?: OrderTable['status'],
  ): Promise<boolean> {
    const moved = await sql.transition(tx, orderId, 'cancelled', 'cancelled', detail, at, {}, lockedFrom);
    if (moved) for (const step of onCancelled) await step(tx, orderId, at);
    return moved;
  }

  return {
    /** A pending order with its items and prices frozen from the basket as priced now. */
    async placeOrder(input: {
      basket: PricedBasket;
      paymentMethod: string;
      marketingOptIn: boolean;
      affiliateId: number | null;
      placedByCustomerId?: number | null;
    }) {
      const at = clock();
      const reference = newOrderReference();
      const id = await db.transaction().execute((tx) =>
        sql.insertOrder(
          tx,
          {
            reference,
            totalPence: input.basket.totalPence,
            paymentMethod: input.paymentMethod,
            affiliateId: input.affiliateId,
            ageConfirmedAt: toDbTime(at),
            marketingOptIn: input.marketingOptIn,
            vatBasisPoints,
            placedByCustomerId: input.placedByCustomerId ?? null,
            expiresAt: toDbTime(new Date(at.getTime() + pendingMinutes * 60_000)),
            items: input.basket.lines.map((l) => ({
              releaseId: l.releaseId,
              trackId: l.kind === 'track' ? l.id : null,
              title: `${l.artistName} – ${l.title}`,
              pricePence: l.pricePence,
            })),
          },
          toDbTime(at),
        ),
      );
      return { id, reference };
    },

    async paymentStarted(orderId: number, method: string, providerRef: string) {
      await sql.insertPayment(db, orderId, method, providerRef, now());
    },

    /** The provider could not open the payment: the order fails, the basket stays for another try. */
    async startFailed(orderId: number, detail: string) {
      await sql.transition(db, orderId, 'failed', 'payment_start_failed', detail, now());
    },

    /**
     * Applies a completed capture once, however many times and in whatever order the return,
     * the webhook and retries report it. A capture that does not match the order is recorded and
     * not fulfilled.
     */
    async settleCapture(facts: CaptureFacts): Promise<SettleResult> {
      return db.transaction().execute(async (tx) => {
        const at = now();
        // Locked, so that of two reports of one capture the second sees what the first recorded.
        const payment = await sql.lockPayment(tx, facts.method, facts.providerRef);
        if (!payment) return 'unknown-payment';
        const order = await sql.lockOrder(tx, payment.order_id);
        const recordCapture = (status: 'mismatch' | 'captured') =>
          sql.updatePayment(
            tx,
            payment.id,
            { status, capture_ref: facts.captureRef, amount_pence: facts.amountPence, currency: facts.currency },
            at,
          );
        // A note on the order's record that leaves its status as it is.
        const noteOnOrder = (event: string, detail: string) => sql.addEvent(tx, order.id, order.status, order.status, event, detail, at);
        if (facts.amountPence !== order.total_pence || facts.currency !== order.currency) {
          await recordCapture('mismatch');
          const expected = `${order.total_pence} ${order.currency}`;
          await noteOnOrder('capture_mismatch', `captured ${facts.amountPence} ${facts.currency}, expected ${expected} (${facts.source})`);
          return 'mismatch';
        }
        if (order.status === 'paid' || order.status === 'refunded') {
          if (payment.capture_ref !== facts.captureRef) {
            // Money taken twice for one order (a second attempt, or a second capture): keep it on
            // record and say so, so the operator refunds it. A repeat of this report adds nothing.
            if (payment.status !== 'captured') await recordCapture('captured');
            await noteOnOrder('duplicate_payment', `${facts.method} ${facts.captureRef} was charged after the order was paid: refund it`);
          }
          return 'already-paid';
        }
        const customerId = await findOrCreateCustomer(tx, facts.contact, at);
        const moved = await sql.transition(
          tx,
          order.id,
          'paid',
          'paid',
          `${facts.method} capture ${facts.captureRef} (${facts.source})`,
          at,
          { paid_at: at, customer_id: customerId, country_code: countryCodeOrNull(facts.countryCode) },
          order.status,
        );
        if (!moved) return 'already-paid';
        await sql.fixItemLabels(tx, order.id);
        await sql.updatePayment(
          tx,
          payment.id,
          { status: 'captured', capture_ref: facts.captureRef, amount_pence: facts.amountPence, currency: facts.currency },
          at,
        );
        await recordMarketingChoice(tx, customerId, order.marketing_opt_in === 1, at);
        for (const step of onPaid) await step(tx, order, customerId, at);
        return 'paid';
      });
    },

    /** The provider refused this attempt (or the shopper cancelled it there); the order stays payable by another one. */
    async recordDecline(method: string, providerRef: string, status: 'declined' | 'failed' | 'cancelled', detail: string) {
      const payment = await sql.findPayment(db, method, providerRef);
      if (!payment || payment.status === 'captured') return;
      const at = now();
      await sql.updatePayment(db, payment.id, { status }, at);
      const order = await sql.findOrderById(db, payment.order_id);
      await sql.addEvent(db, payment.order_id, order.status, order.status, `payment_${status}`, detail, at);
    },

    async cancel(orderId: number, detail: string) {
      return db.transaction().execute((tx) => cancelIn(tx, orderId, detail, now()));
    },

    /** The same, inside a transaction the caller holds (an operator's cancel, with its audit row). */
    cancelInTransaction: cancelIn,

    /** A full refund at the provider refunds the order; a partial one is recorded only. */
    async recordRefund(method: string, captureRef: string, amountPence: number, source: string) {
      return db.transaction().execute(async (tx) => {
        const payment = await sql.findPaymentByCapture(tx, method, captureRef);
        if (!payment) return 'unknown-payment' as const;
        const order = await sql.lockOrder(tx, payment.order_id);
        const at = now();
        if (amountPence < order.total_pence) {
          await sql.addEvent(tx, order.id, order.status, order.status, 'partial_refund', `${amountPence} pence refunded (${source})`, at);
          return 'partial' as const;
        }
        const moved = await sql.transition(tx, order.id, 'refunded', 'refunded', `${method} refund (${source})`, at, {}, order.status);
        if (moved) {
          await sql.updatePayment(tx, payment.id, { status: 'refunded' }, at);
          for (const step of onRefunded) await step(tx, order.id, at);
        }
        return moved ? ('refunded' as const) : ('already-refunded' as const);
      });
    },

    /**
     * Pending orders past their time expire (a late capture still makes them paid). First,
     * `lastLook` (when given) asks the provider once more about an attempt whose outcome was never
     * reported: a payment that went through while its notification was lost settles now, and the
     * order is paid instead of expired.
     */
    async expireStale(lastLook?: (payment: { method: string; provider_ref: string }) => Promise<void>): Promise<number> {
      const at = now();
      let expired = 0;
      for (const { id } of await sql.expiredPendingOrders(db, at, 500)) {
        const payment = lastLook && (await sql.latestPayment(db, id));
        if (payment && (payment.status === 'created' || payment.status === 'pending')) await lastLook!(payment);
        // Only from pending: an order the last look settled stays paid.
        if (await sql.transition(db, id, 'expired', 'expired', null, at)) expired++;
      }
      return expired;
    },

    findByReference: (reference: string) => sql.findOrderByReference(db, reference),
    findById: (id: number) => sql.findOrderById(db, id),
    providerEventSeen: (provider: string, eventId: string) => sql.providerEventSeen(db, provider, eventId),
    recordProviderEvent: (provider: string, eventId: string, eventType: string) =>
      sql.recordProviderEvent(db, provider, eventId, eventType, now()),
    findPayment: (method: string, providerRef: string) => sql.findPayment(db, method, providerRef),
    findPaymentWithOrder: (method: string, providerRef: string) => sql.findPaymentWithOrder(db, method, providerRef),
    /**
     * The payment attempt once any settlement of it in progress has committed: the locking read
     * waits for settleCapture's lock (MySQL; SQLite runs one transaction at a time), so a webhook
     * racing the shopper's return sees what the return recorded. It runs on its own (autocommit):
     * InnoDB takes and waits for the lock as in a transaction, reads the row as committed, and lets
     * go at the end of the statement; one round trip instead of begin, read and commit.
     */
    paymentAfterSettling: (method: string, providerRef: string) => sql.lockPayment(db, method, providerRef),
    latestPayment: (orderId: number) => sql.latestPayment(db, orderId),

    /** An order with everything its page shows; pass the order row when the caller has just read it. */
    async details(orderId: number, known?: Awaited<ReturnType<typeof sql.findOrderById>>) {
      const order = known?.id === orderId ? known : await sql.findOrderById(db, orderId);
      const [items, events, payment, contact] = await Promise.all([
        sql.orderItems(db, orderId),
        sql.orderEvents(db, orderId),
        sql.latestPayment(db, orderId),
        sql.customerContact(db, order.customer_id),
      ]);
      return { order, items, events, payment, contact };
    },
  };
}

export type OrdersService = ReturnType<typeof createOrdersService>;
