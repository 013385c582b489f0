import { toDbTime } from '../../db/dialect.js';
import { sellerOf } from '../../config.js';
import { queueOrderConfirmation } from '../../customers/fulfilment.js';
import { addEvent, lockOrder } from '../../orders/repository.js';
import { PaymentProviderError } from '../../payments/payment-method.js';
import { formatPrice } from '../../web/view-helpers.js';
import { recordAudit } from '../audit.js';
import type { AdminDeps } from '../deps.js';
import type { Operator } from '../access/session.js';
import { findOrderForAction, payingPayment } from './repository.js';

/** What an action did, in words for the operator's flash message. */
export type ActionOutcome = { ok: true; message: string } | { ok: false; status: number; message: string };

const refused = (status: number, message: string): ActionOutcome => ({ ok: false, status, message });

/**
 * The operator's actions on one order. Each one is checked against the order's state (refund only
 * a paid order, cancel only a pending one) and written to the audit log.
 */
export function createAdminOrdersService(deps: AdminDeps) {
  const { db, clock, orders, methods, logger } = deps;

  return {
    /**
     * Refunds the whole order at its provider (PayPal's refund API, or the intermediary's refund
     * endpoint), then records it here directly, so the order, its downloads and any commission follow
     * without waiting for a webhook. Recording is idempotent: the method records it too, and a
     * webhook that arrives later changes nothing.
     */
    async refund(reference: string, operator: Operator): Promise<ActionOutcome> {
      const order = await findOrderForAction(db, reference);
      if (!order) return refused(404, 'There is no order with that reference.');
      if (order.status !== 'paid') return refused(409, `Only a paid order can be refunded; this one is ${order.status}.`);
      const payment = await payingPayment(db, order.id);
      const method = payment && methods.find((m) => m.id === payment.method);
      if (!payment || !method || !payment.capture_ref)
        return refused(409, 'No captured payment was found for this order, so there is nothing to refund at the provider.');
      try {
        await method.refund({ providerRef: payment.provider_ref, captureRef: payment.capture_ref, amountPence: order.total_pence });
      } catch (error) {
        // A provider's refusal, or a lost answer (timeout, reset): either way the operator is told and
        // can try again (PayPal's request id and the intermediary's 409 make a repeat harmless).
        const reason = error instanceof PaymentProviderError ? error.message : 'no answer';
        if (error instanceof PaymentProviderError)
          logger.warn({ err: { message: error.message }, order: order.reference }, 'refund refused by the provider');
        else logger.error({ err: error, order: order.reference }, 'refund call failed');
        await recordAudit(
          db,
          { operatorId: operator.id, action: 'order.refund_failed', target: order.reference, detail: `${method.id}: ${reason}` },
          clock(),
        );
        return refused(
          502,
          `The refund (${method.label}) was not confirmed (${reason}). Nothing was changed here; please try again in a while.`,
        );
      }
      const outcome = await orders.recordRefund(payment.method, payment.capture_ref, order.total_pence, 'operator');
      await recordAudit(
        db,
        {
          operatorId: operator.id,
          action: 'order.refund',
          target: order.reference,
          detail: `${formatPrice(order.total_pence)} through ${method.label} (capture ${payment.capture_ref}): ${outcome}`,
        },
        clock(),
      );
      return {
        ok: true,
        message: `Order ${order.reference} is refunded: ${formatPrice(order.total_pence)} goes back through ${method.label}, the downloads stop and any commission is rejected.`,
      };
    },

    /** Cancels a pending order (the shopper never paid); the audit row commits with the change. */
    async cancel(reference: string, operator: Operator): Promise<ActionOutcome> {
      return db.transaction().execute(async (tx) => {
        const found = await findOrderForAction(tx, reference);
        if (!found) return refused(404, 'There is no order with that reference.');
        const order = await lockOrder(tx, found.id);
        if (order.status !== 'pending') return refused(409, `Only a pending order can be cancelled; this one is ${order.status}.`);
        const now = clock();
        if (!(await orders.cancelInTransaction(tx, order.id, `cancelled by an operator (${operator.id})`, toDbTime(now), order.status)))
          return refused(409, 'The order changed meanwhile; nothing was done.');
        await recordAudit(tx, { operatorId: operator.id, action: 'order.cancel', target: order.reference }, now);
        return {
          ok: true,
          message: `Order ${order.reference} is cancelled. If the shopper's payment still arrives, the order becomes paid as usual.`,
        };
      });
    },

    /** Queues the confirmation again (a transactional message, with a fresh sign-in link). */
    async resendConfirmation(reference: string, operator: Operator): Promise<ActionOutcome> {
      return db.transaction().execute(async (tx) => {
        const found = await findOrderForAction(tx, reference);
        if (!found) return refused(404, 'There is no order with that reference.');
        const order = await lockOrder(tx, found.id);
        if (order.status !== 'paid' || order.customer_id === null)
          return refused(409, `Only a paid order has a confirmation to send; this one is ${order.status}.`);
        const now = clock();
        const at = toDbTime(now);
        await queueOrderConfirmation(
          { signIn: deps.signIn, storeName: deps.config.storeName, publicUrl: deps.publicUrl, clock, seller: sellerOf(deps.config) },
          tx,
          order,
          order.customer_id,
          at,
        );
        await addEvent(tx, order.id, order.status, order.status, 'confirmation_resent', `by an operator (${operator.id})`, at);
        await recordAudit(tx, { operatorId: operator.id, action: 'order.resend_confirmation', target: order.reference }, now);
        return { ok: true, message: `The confirmation of ${order.reference} is queued again.` };
      });
    },
  };
}

export type AdminOrdersService = ReturnType<typeof createAdminOrdersService>;
