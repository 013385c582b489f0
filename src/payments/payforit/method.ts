/**
 * Pay by mobile: carrier billing through a PayForIt-style intermediary
 * (../shared/specs/payforit.md), as a second implementation of PaymentMethod.
 *
 * Attempts and transaction ids. The payment request carries only the order reference (`ref`), and
 * every attempt at the same order shares it; the intermediary names each attempt with its own
 * `transaction_id`, which the store first learns from the notification, the return or a status
 * answer. So one `payments` row is one attempt:
 *  - at checkout the attempt is recorded with the placeholder provider_ref `ref:<reference>`;
 *  - the first result that names a transaction for that order renames the placeholder to the
 *    transaction id (a conditional UPDATE); a later attempt (a retry after a decline) gets a row
 *    of its own, inserted under its transaction id;
 *  - the transaction id is also the capture_ref, which refunds name.
 * A result is applied once per transaction id: results are recorded in provider_events after they
 * are applied, concurrent results for one transaction are taken one at a time in this process, and
 * the orders service makes paying an order a single conditional transition in the database.
 */
import express, { Router, type Request } from 'express';
import type { Logger } from 'pino';
import type { Db } from '../../db/database.js';
import { toDbTime } from '../../db/dialect.js';
import type { OrderStatus, PaymentStatus } from '../../db/schema.js';
import type { OrdersService } from '../../orders/service.js';
import { ownsOrder } from '../../orders/session-orders.js';
import { HttpError } from '../../web/errors.js';
import { formatPrice } from '../../web/view-helpers.js';
import { PaymentProviderError, type PaymentCheck, type PaymentMethod } from '../payment-method.js';
import { nameAttempt } from './attempts.js';
import type { PayForItClient } from './client.js';
import { DESCRIPTION_MAX, isResultStatus, parseResult, REF_PATTERN, TRANSACTION_ID_PATTERN, type PaymentResult } from './messages.js';
import { singleValued, verifyParams } from './signature.js';
import { countryOfMsisdn } from '../../customers/msisdn.js';

export const PAYFORIT = 'payforit';
/** provider_ref of an attempt whose transaction the intermediary has not named yet. */
const PLACEHOLDER = 'ref:';
export const RETURN_PATH = '/checkout/payforit/return';
export const NOTIFICATION_PATH = '/notifications/payforit';

export interface PayForItMethodDeps {
  client: PayForItClient;
  orders: OrdersService;
  db: Db;
  merchantId: string;
  secret: string;
  maxPence: number;
  /** Where the shopper's browser is sent to pay (the payment page's base URL). */
  payPageBase: string;
  logger: Logger;
  clock?: () => Date;
}

type Outcome = 'paid' | 'already-paid' | 'mismatch' | 'declined' | 'failed' | 'cancelled' | 'unknown-order' | 'conflict';

/** What is bought, in at most 60 characters: the first item, and how many more. */
export function describeItems(titles: string[]): string {
  const more = titles.length > 1 ? ` and ${titles.length - 1} more` : '';
  const first = [...(titles[0] ?? 'Music downloads')];
  const room = DESCRIPTION_MAX - [...more].length;
  const head =
    first.length > room
      ? `${first
          .slice(0, room - 1)
          .join('')
          .trimEnd()}…`
      : first.join('');
  return head + more;
}

/** The return address on the store's own origin, whatever path or query the origin came with. */
function returnUrlFor(storeOrigin: string): string {
  const origin = new URL(storeOrigin);
  if (origin.protocol !== 'https:' && origin.protocol !== 'http:') throw new Error(`not a web origin: ${storeOrigin}`);
  return `${origin.origin}${RETURN_PATH}`;
}

/** Runs one task at a time per key (here: per transaction id) within this process. */
function keyedSerialiser() {
  const tails = new Map<string, Promise<unknown>>();
  return <T>(key: string, task: () => Promise<T>): Promise<T> => {
    const run = (tails.get(key) ?? Promise.resolve()).then(task);
    const tail = run.catch(() => undefined);
    tails.set(key, tail);
    void tail.then(() => tails.get(key) === tail && tails.delete(key));
    return run;
  };
}

function outcomeOf(paymentStatus: PaymentStatus, orderStatus: OrderStatus): Outcome {
  if (paymentStatus === 'captured' || paymentStatus === 'refunded') return 'already-paid';
  if (paymentStatus === 'mismatch' || paymentStatus === 'declined' || paymentStatus === 'failed' || paymentStatus === 'cancelled')
    return paymentStatus;
  return orderStatus === 'paid' || orderStatus === 'refunded' ? 'already-paid' : 'cancelled';
}

function asCheck(outcome: Outcome): PaymentCheck {
  if (outcome === 'paid' || outcome === 'already-paid' || outcome === 'mismatch') return outcome;
  if (outcome === 'declined' || outcome === 'failed') return 'declined';
  if (outcome === 'cancelled') return 'not-approved';
  return 'unavailable';
}

export function createPayForItMethod({
  client,
  orders,
  db,
  merchantId,
  secret,
  maxPence,
  payPageBase,
  logger,
  clock = () => new Date(),
}: PayForItMethodDeps): PaymentMethod {
  const serialised = keyedSerialiser();

  /** The payments row of this transaction: the order's waiting attempt, renamed, or a new one. */
  async function attemptOf(orderId: number, reference: string, transactionId: string) {
    const existing = await orders.findPayment(PAYFORIT, transactionId);
    if (existing) return existing;
    if (!(await nameAttempt(db, orderId, PAYFORIT, PLACEHOLDER + reference, transactionId, toDbTime(clock())))) {
      await orders.paymentStarted(orderId, PAYFORIT, transactionId);
    }
    return (await orders.findPayment(PAYFORIT, transactionId))!;
  }

  /** Applies a verified result (notification or status answer) once per transaction id. */
  function applyResult(result: PaymentResult, source: string): Promise<Outcome> {
    return serialised(result.transactionId, async () => {
      const order = await orders.findByReference(result.ref);
      if (!order) return 'unknown-order';
      const payment = await attemptOf(order.id, order.reference, result.transactionId);
      if (payment.order_id !== order.id) return 'conflict';
      if (await orders.providerEventSeen(PAYFORIT, result.transactionId)) {
        const now = (await orders.findPayment(PAYFORIT, result.transactionId))!;
        return outcomeOf(now.status, (await orders.findById(order.id)).status);
      }
      const outcome = await applyOnce(result, order.id, source);
      // Recorded only once the outcome is committed: a crash before this means the result is applied again, harmlessly.
      await orders.recordProviderEvent(PAYFORIT, result.transactionId, `result ${result.status}`);
      return outcome;
    });
  }

  async function applyOnce(result: PaymentResult, orderId: number, source: string): Promise<Outcome> {
    const detail = `mobile billing ${result.status}, transaction ${result.transactionId} (${source})`;
    switch (result.status) {
      case 'charged': {
        const settled = await orders.settleCapture({
          method: PAYFORIT,
          providerRef: result.transactionId,
          captureRef: result.transactionId,
          amountPence: result.amountPence,
          currency: result.currency,
          contact: { msisdn: result.msisdn! },
          countryCode: countryOfMsisdn(result.msisdn!),
          source,
        });
        if (settled === 'unknown-payment') throw new Error(`payment row for ${result.transactionId} vanished`);
        return settled;
      }
      case 'declined':
      case 'failed':
        await orders.recordDecline(PAYFORIT, result.transactionId, result.status, detail);
        return result.status;
      case 'cancelled':
        await orders.recordDecline(PAYFORIT, result.transactionId, 'cancelled', detail);
        await orders.cancel(orderId, 'shopper cancelled on the mobile payment page');
        return 'cancelled';
    }
  }

  /** Section 4: the intermediary's result for a transaction, or null while it has none. */
  async function askIntermediary(transactionId: string): Promise<PaymentResult | null> {
    const answer = await client.transaction(transactionId);
    if (!answer) return null;
    const parsed = parseResult(answer, merchantId);
    if (!parsed.ok) throw new PaymentProviderError(`status answer not usable: ${parsed.problem}`, true);
    if (parsed.value.transactionId !== transactionId) throw new PaymentProviderError('status answer is about another transaction', true);
    return parsed.value;
  }

  /** What the store learns when the shopper comes back: what it knows, else what the intermediary says. */
  async function learnOnReturn(
    order: { id: number; reference: string; total_pence: number; currency: string },
    transactionId: string,
    returnedStatus: PaymentResult['status'],
  ) {
    if (await orders.providerEventSeen(PAYFORIT, transactionId)) return;
    try {
      const result = await askIntermediary(transactionId);
      if (result && result.ref === order.reference) {
        await applyResult(result, 'status query on return');
        return;
      }
      if (result) logger.warn({ transactionId, order: order.reference }, 'mobile billing status answer names another order; ignored');
    } catch (error) {
      if (!(error instanceof PaymentProviderError)) throw error;
      logger.warn({ err: { message: error.message }, transactionId }, 'mobile billing status query failed on return');
    }
    if (returnedStatus === 'charged') {
      // A charge is believed only with its amount and number (notification or status answer): the
      // order stays pending and its page offers to check again.
      await serialised(transactionId, () => attemptOf(order.id, order.reference, transactionId));
    } else {
      // The signed return says nothing was charged, and that is all it needs to say.
      await applyResult(
        {
          merchantId,
          ref: order.reference,
          transactionId,
          amountPence: order.total_pence,
          currency: order.currency,
          status: returnedStatus,
        },
        'return',
      );
    }
  }

  return {
    id: PAYFORIT,
    label: 'Pay by mobile',
    words: { name: 'Mobile phone bill', paid: 'Paid by mobile phone bill' },
    redirectOrigins: [new URL(payPageBase).origin],

    availability(totalPence) {
      if (totalPence >= 1 && totalPence <= maxPence) return { available: true };
      return {
        available: false,
        reason: `The mobile networks allow at most ${formatPrice(maxPence)} in one payment, and this order comes to ${formatPrice(totalPence)}. Please pay another way, or buy in smaller orders.`,
      };
    },

    async start(order, storeOrigin) {
      if (order.totalPence < 1 || order.totalPence > maxPence)
        throw new Error(`order ${order.reference} is outside the mobile billing limit`);
      const redirectUrl = client.paymentPageUrl({
        ref: order.reference,
        amountPence: order.totalPence,
        description: describeItems(order.items.map((i) => i.title)),
        returnUrl: returnUrlFor(storeOrigin),
      });
      return { providerRef: PLACEHOLDER + order.reference, redirectUrl };
    },

    async check(providerRef) {
      if (providerRef.startsWith(PLACEHOLDER)) return 'pending';
      const payment = await orders.findPayment(PAYFORIT, providerRef);
      if (!payment) return 'unavailable';
      if (await orders.providerEventSeen(PAYFORIT, providerRef))
        return asCheck(outcomeOf(payment.status, (await orders.findById(payment.order_id)).status));
      let result: PaymentResult | null;
      try {
        result = await askIntermediary(providerRef);
      } catch (error) {
        if (!(error instanceof PaymentProviderError)) throw error;
        logger.warn({ err: { message: error.message }, providerRef }, 'mobile billing status query failed');
        return 'unavailable';
      }
      return result ? asCheck(await applyResult(result, 'status check')) : 'pending';
    },

    /** Another attempt at the same order: a new signed request with the order's frozen total. */
    async resume(providerRef, storeOrigin) {
      const payment = await orders.findPayment(PAYFORIT, providerRef);
      if (!payment) throw new HttpError(404, 'We could not find that payment.');
      const { order, items } = await orders.details(payment.order_id);
      if (order.total_pence > maxPence) throw new PaymentProviderError('the order is over the mobile billing limit', false);
      return client.paymentPageUrl({
        ref: order.reference,
        amountPence: order.total_pence,
        description: describeItems(items.map((i) => i.title)),
        returnUrl: returnUrlFor(storeOrigin),
      });
    },

    async refund({ providerRef, captureRef, amountPence }) {
      const transactionId = captureRef ?? (providerRef.startsWith(PLACEHOLDER) ? null : providerRef);
      if (!transactionId) throw new PaymentProviderError('nothing was charged to refund', false);
      await client.refund(transactionId, amountPence);
      await orders.recordRefund(PAYFORIT, transactionId, amountPence, 'operator');
    },

    routes() {
      const router = Router();
      router.get(RETURN_PATH, async (req: Request, res) => {
        const params = singleValued(new URL(req.originalUrl, 'http://store.invalid').searchParams);
        const verified = params ? verifyParams(params, secret, clock()) : { ok: false as const, reason: 'repeated parameter' };
        if (!params || !verified.ok) {
          logger.warn({ reason: verified.ok ? undefined : verified.reason }, 'mobile billing return not verified');
          throw new HttpError(
            400,
            'We could not verify this return from the mobile payment page, so nothing was changed. Your order page shows where things stand.',
          );
        }
        const { ref = '', transaction_id: transactionId = '', status } = params;
        if (!REF_PATTERN.test(ref) || !TRANSACTION_ID_PATTERN.test(transactionId) || !isResultStatus(status))
          throw new HttpError(400, 'This return from the mobile payment page is incomplete.');
        const order = ownsOrder(req, ref) ? await orders.findByReference(ref) : undefined;
        if (!order) throw new HttpError(404, 'We could not find that order.');
        await learnOnReturn(order, transactionId, status);
        res.redirect(303, `/orders/${order.reference}`);
      });
      return router;
    },

    notificationRoutes() {
      const router = Router();
      router.post(NOTIFICATION_PATH, express.text({ type: () => true, limit: '16kb' }), async (req, res) => {
        const refuse = (status: number, why: string) => {
          logger.warn({ status, why }, 'mobile billing notification refused');
          res.status(status).type('text').send(why);
        };
        if (!req.is('application/x-www-form-urlencoded')) return refuse(415, 'expected application/x-www-form-urlencoded');
        const params = singleValued(new URLSearchParams(typeof req.body === 'string' ? req.body : ''));
        if (!params) return refuse(400, 'a parameter is repeated');
        const verified = verifyParams(params, secret, clock());
        if (!verified.ok) return refuse(400, verified.reason);
        const parsed = parseResult(params, merchantId);
        if (!parsed.ok) return refuse(400, parsed.problem);
        let outcome: Outcome;
        try {
          outcome = await applyResult(parsed.value, 'notification');
        } catch (error) {
          // Not recorded: anything but OK makes the intermediary send it again later.
          logger.error(
            { err: { message: (error as Error).message }, transactionId: parsed.value.transactionId },
            'mobile billing notification not recorded',
          );
          res.status(500).type('text').send('not recorded, please send again');
          return;
        }
        if (outcome === 'unknown-order') return refuse(404, 'unknown ref');
        if (outcome === 'conflict') return refuse(409, 'transaction_id belongs to another order');
        res.status(200).type('text').send('OK');
      });
      return router;
    },
  };
}
