/**
 * The webhook events the stand-in sends, in the shape of the webhooks document's `event` schema
 * and with the resources PayPal puts in them (a capture carries its order id in
 * supplementary_data.related_ids, as the payments document's `capture-2` does).
 */
import { paypalTime, webhookEventId } from './ids.js';
import type { CaptureRecord, OrderBook, OrderRecord, RefundRecord } from './orders.js';
import { type Bases, renderCapture, renderOrder, renderRefund } from './resources.js';

export const WEBHOOK_EVENT_TYPES = [
  'PAYMENT.CAPTURE.COMPLETED',
  'PAYMENT.CAPTURE.PENDING',
  'PAYMENT.CAPTURE.DENIED',
  'PAYMENT.CAPTURE.REFUNDED',
  'CHECKOUT.ORDER.APPROVED',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export interface WebhookEvent {
  id: string;
  event_version: string;
  create_time: string;
  resource_type: string;
  resource_version: string;
  event_type: WebhookEventType;
  summary: string;
  resource: Record<string, unknown>;
}

function event(type: WebhookEventType, resourceType: string, summary: string, resource: Record<string, unknown>, now: Date): WebhookEvent {
  return {
    id: webhookEventId(),
    event_version: '1.0',
    create_time: paypalTime(now),
    resource_type: resourceType,
    resource_version: '2.0',
    event_type: type,
    summary,
    resource,
  };
}

const CAPTURE_SUMMARIES: Partial<Record<WebhookEventType, string>> = {
  'PAYMENT.CAPTURE.COMPLETED': 'Payment completed for',
  'PAYMENT.CAPTURE.PENDING': 'Payment pending for',
  'PAYMENT.CAPTURE.DENIED': 'Payment denied for',
};

export function captureEvent(type: WebhookEventType, capture: CaptureRecord, bases: Bases, now: Date): WebhookEvent {
  const { value, currency_code } = capture.amount;
  const summary = `${CAPTURE_SUMMARIES[type] ?? 'Payment update for'} ${value} ${currency_code}`;
  return event(type, 'capture', summary, renderCapture(capture, bases, true), now);
}

/** The refund, linked up to its capture, and (beyond the refund schema) the ids it relates to. */
export function refundEvent(refund: RefundRecord, book: OrderBook, bases: Bases, now: Date): WebhookEvent {
  const resource = {
    ...renderRefund(refund, book, bases),
    supplementary_data: { related_ids: { order_id: refund.orderId, capture_id: refund.captureId } },
  };
  const summary = `A ${refund.amount.value} ${refund.amount.currency_code} capture payment was refunded`;
  return event('PAYMENT.CAPTURE.REFUNDED', 'refund', summary, resource, now);
}

export function orderApprovedEvent(order: OrderRecord, book: OrderBook, bases: Bases, now: Date): WebhookEvent {
  return event('CHECKOUT.ORDER.APPROVED', 'checkout-order', 'An order has been approved by buyer', renderOrder(order, book, bases), now);
}
