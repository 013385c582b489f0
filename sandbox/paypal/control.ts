/**
 * The test-side handle on a sandbox: make PayPal fail, act as the buyer, send webhooks on
 * demand, and see what the store sent and what the stand-in sent back.
 */
import { approveOrder } from './approval-page.js';
import type { ReceivedRequest, SandboxContext } from './context.js';
import { captureEvent, orderApprovedEvent, refundEvent, type WebhookEvent, type WebhookEventType } from './events.js';
import type { FaultMode, FaultOptions, FaultPoint } from './faults.js';
import { basesFor } from './http.js';
import type { ApproveOptions, OrderRecord } from './orders.js';
import { renderOrder } from './resources.js';
import type { SentWebhook } from './webhooks.js';

export interface SandboxControl {
  /** The next request to that endpoint fails this way (queued: arm twice to fail twice). */
  failNext(path: FaultPoint, mode: FaultMode, options?: FaultOptions): void;
  /** What clicking on the approval page does; returns where the browser would be sent. */
  approve(orderId: string, options?: ApproveOptions): { redirectUrl?: string; payerId: string };
  /**
   * Sends (or re-sends) an event about the order's first capture, its latest refund, or the order
   * itself. PAYMENT.CAPTURE.COMPLETED settles a pending capture and DENIED fails the capture first,
   * as PayPal does when a capture later fails. Resolves once delivery (with retries) is over.
   */
  sendWebhook(eventType: WebhookEventType, orderId: string): Promise<SentWebhook>;
  /** The last transmission again, byte for byte, same transmission id: a duplicate delivery. */
  replayLastWebhook(): Promise<SentWebhook>;
  /** Every delivery attempt, oldest first, with the receiver's answer (or the network error). */
  sentWebhooks(): SentWebhook[];
  /** Resolves when no webhook delivery or retry is in progress. */
  webhooksSettled(): Promise<void>;
  /** Requests the stand-in received, oldest first (the most recent 1000). */
  requests(): ReceivedRequest[];
  /** Every order in its full representation (as GET /v2/checkout/orders/{id} would return it). */
  orders(): Array<Record<string, unknown>>;
}

export function createControl(ctx: SandboxContext): SandboxControl {
  return {
    failNext: (path, mode, options) => ctx.faults.arm(path, mode, options),
    approve: (orderId, options = {}) => approveOrder(ctx, orderId, options),
    sendWebhook: async (eventType, orderId) => {
      if (!ctx.webhooks.enabled) throw new Error('PayPal stand-in: no webhookUrl was configured, so there is nowhere to send events');
      const sent = await ctx.webhooks.send(eventFor(ctx, eventType, orderOf(ctx, orderId)));
      return sent!;
    },
    replayLastWebhook: () => ctx.webhooks.replayLast(),
    sentWebhooks: () => ctx.webhooks.sent(),
    webhooksSettled: () => ctx.webhooks.settled(),
    requests: () => [...ctx.received],
    orders: () => ctx.book.all().map((order) => renderOrder(order, ctx.book, basesFor(ctx.urls))),
  };
}

function orderOf(ctx: SandboxContext, orderId: string): OrderRecord {
  const order = ctx.book.find(orderId);
  if (!order) throw new Error(`PayPal stand-in: no order ${orderId}`);
  return order;
}

function eventFor(ctx: SandboxContext, type: WebhookEventType, order: OrderRecord): WebhookEvent {
  const bases = basesFor(ctx.urls);
  const now = ctx.clock();
  if (type === 'CHECKOUT.ORDER.APPROVED') return orderApprovedEvent(order, ctx.book, bases, now);
  const capture = ctx.book.capturesOf(order)[0];
  if (!capture) throw new Error(`PayPal stand-in: order ${order.id} has not been captured, so there is no ${type} to send`);
  if (type === 'PAYMENT.CAPTURE.REFUNDED') {
    const refund = ctx.book.refundsOf(capture).at(-1);
    if (!refund) throw new Error(`PayPal stand-in: the capture of order ${order.id} has not been refunded`);
    return refundEvent(refund, ctx.book, bases, now);
  }
  if (type === 'PAYMENT.CAPTURE.DENIED') ctx.book.settleCapture(capture, 'DECLINED');
  if (type === 'PAYMENT.CAPTURE.COMPLETED' && capture.status === 'PENDING') ctx.book.settleCapture(capture, 'COMPLETED');
  return captureEvent(type, capture, bases, now);
}
