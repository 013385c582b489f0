/**
 * Orders, captures and refunds rendered in the shapes of the specs' `order`, `capture`,
 * `capture-2` and `refund` schemas. Tests check these against the documents themselves.
 */
import { paypalTime } from './ids.js';
import { fromMinor, toMinor } from './money.js';
import type { Buyer, CaptureRecord, OrderBook, OrderRecord, RefundRecord } from './orders.js';
import type { Link } from './types.js';

type Json = Record<string, unknown>;

/** API links point at the API; the approval link at wherever a browser reaches the stand-in. */
export interface Bases {
  api: string;
  public: string;
}

/** The merchant's own account, as PayPal names the payee of every purchase unit. */
const MERCHANT = { email_address: 'merchant@example.com', merchant_id: 'SANDBXMERCHNT' };

export function approvalUrl(bases: Bases, orderId: string): string {
  return `${bases.public}/checkoutnow?token=${encodeURIComponent(orderId)}`;
}

function link(href: string, rel: string, method: Link['method'] = 'GET'): Link {
  return { href, rel, method };
}

export function orderLinks(order: OrderRecord, bases: Bases): Link[] {
  const self = `${bases.api}/v2/checkout/orders/${order.id}`;
  const links = [link(self, 'self')];
  if (order.status === 'CREATED') links.push(link(approvalUrl(bases, order.id), 'approve'));
  if (order.status === 'PAYER_ACTION_REQUIRED') links.push(link(approvalUrl(bases, order.id), 'payer-action'));
  if (order.status === 'CREATED' || order.status === 'APPROVED') links.push(link(`${self}/capture`, 'capture', 'POST'));
  return links;
}

/** `Prefer: return=representation`, and GET: the whole order. */
export function renderOrder(order: OrderRecord, book: OrderBook, bases: Bases): Json {
  return compact({
    id: order.id,
    intent: order.request.intent,
    status: order.status,
    payment_source: paymentSource(order),
    purchase_units: order.request.purchase_units.map((_, index) => renderUnit(order, index, book, bases)),
    payer: order.buyer && renderPayer(order.buyer),
    create_time: paypalTime(order.createTime),
    update_time: paypalTime(order.updateTime),
    links: orderLinks(order, bases),
  });
}

/** The default (`return=minimal`) answer to create: id, status and links. */
export function renderCreatedMinimal(order: OrderRecord, bases: Bases): Json {
  return compact({ id: order.id, status: order.status, payment_source: paymentSource(order), links: orderLinks(order, bases) });
}

/** The default answer to capture: what was captured, from whom, and where it ships. */
export function renderCapturedMinimal(order: OrderRecord, book: OrderBook, bases: Bases): Json {
  const full = renderOrder(order, book, bases);
  const units = (full.purchase_units as Json[]).map((unit) =>
    compact({ reference_id: unit.reference_id, shipping: unit.shipping, payments: unit.payments }),
  );
  return compact({
    id: order.id,
    status: order.status,
    payment_source: full.payment_source,
    purchase_units: units,
    payer: full.payer,
    links: full.links,
  });
}

function paymentSource(order: OrderRecord): Json | undefined {
  const buyer = order.buyer;
  if (!buyer) return order.request.payment_source?.paypal ? { paypal: {} } : undefined;
  const name = { given_name: buyer.givenName, surname: buyer.surname };
  return {
    paypal: {
      email_address: buyer.email,
      account_id: buyer.payerId,
      account_status: 'VERIFIED',
      name,
      address: { country_code: buyer.address.country_code },
    },
  };
}

function renderPayer(buyer: Buyer): Json {
  return {
    name: { given_name: buyer.givenName, surname: buyer.surname },
    email_address: buyer.email,
    payer_id: buyer.payerId,
    address: { ...buyer.address },
  };
}

/**
 * A purchase unit as the merchant sent it, plus what PayPal adds. Shipping is always filled in
 * once a buyer has approved (even for digital goods) so that a store's "never keep the buyer's
 * name or address" rule is tested against data that is really there.
 */
function renderUnit(order: OrderRecord, index: number, book: OrderBook, bases: Bases): Json {
  const unit = order.request.purchase_units[index];
  const captures = book.capturesOf(order).filter((c) => c.unitIndex === index);
  const refunds = captures.flatMap((c) => book.refundsOf(c));
  return compact({
    reference_id: unit.reference_id ?? 'default',
    amount: unit.amount,
    payee: unit.payee ?? MERCHANT,
    payment_instruction: unit.payment_instruction,
    description: unit.description,
    custom_id: unit.custom_id,
    invoice_id: unit.invoice_id,
    soft_descriptor: unit.soft_descriptor,
    items: unit.items,
    shipping: order.buyer && { ...buyerShipping(order.buyer), ...unit.shipping },
    payments:
      captures.length > 0
        ? compact({
            captures: captures.map((c) => renderCapture(c, bases)),
            refunds: refunds.length > 0 ? refunds.map((r) => renderRefund(r, book, bases)) : undefined,
          })
        : undefined,
  });
}

function buyerShipping(buyer: Buyer): Json {
  return { name: { full_name: `${buyer.givenName} ${buyer.surname}` }, address: { ...buyer.address } };
}

/** A capture inside an order (`capture`); `standalone` adds what GET capture and webhooks carry (`capture-2`). */
export function renderCapture(capture: CaptureRecord, bases: Bases, standalone = false): Json {
  const self = `${bases.api}/v2/payments/captures/${capture.id}`;
  const net = fromMinor(toMinor(capture.amount)! - toMinor(capture.fee)!, capture.amount.currency_code);
  return compact({
    id: capture.id,
    status: capture.status,
    status_details: capture.status === 'PENDING' ? { reason: 'PENDING_REVIEW' } : undefined,
    amount: capture.amount,
    final_capture: true,
    seller_protection: { status: 'ELIGIBLE', dispute_categories: ['ITEM_NOT_RECEIVED', 'UNAUTHORIZED_TRANSACTION'] },
    seller_receivable_breakdown: { gross_amount: capture.amount, paypal_fee: capture.fee, net_amount: net },
    invoice_id: capture.invoiceId,
    custom_id: capture.customId,
    supplementary_data: standalone ? { related_ids: { order_id: capture.orderId } } : undefined,
    payee: standalone ? MERCHANT : undefined,
    links: [link(self, 'self'), link(`${self}/refund`, 'refund', 'POST'), link(`${bases.api}/v2/checkout/orders/${capture.orderId}`, 'up')],
    create_time: paypalTime(capture.createTime),
    update_time: paypalTime(capture.updateTime),
  });
}

export function renderRefund(refund: RefundRecord, book: OrderBook, bases: Bases): Json {
  const capture = book.getCapture(refund.captureId);
  const currency = refund.amount.currency_code;
  const refunds = book.refundsOf(capture);
  const upTo = refunds.slice(0, refunds.indexOf(refund) + 1);
  const totalRefunded = fromMinor(
    upTo.reduce((sum, r) => sum + toMinor(r.amount)!, 0n),
    currency,
  );
  return compact({
    id: refund.id,
    amount: refund.amount,
    status: refund.status,
    invoice_id: refund.invoiceId,
    custom_id: refund.customId,
    note_to_payer: refund.noteToPayer,
    seller_payable_breakdown: {
      gross_amount: refund.amount,
      paypal_fee: fromMinor(0n, currency),
      net_amount: refund.amount,
      total_refunded_amount: totalRefunded,
    },
    payer: MERCHANT,
    links: [
      link(`${bases.api}/v2/payments/refunds/${refund.id}`, 'self'),
      link(`${bases.api}/v2/payments/captures/${refund.captureId}`, 'up'),
    ],
    create_time: paypalTime(refund.createTime),
    update_time: paypalTime(refund.updateTime),
  });
}

/** Leaves out absent optional fields rather than sending nulls the schemas do not allow. */
function compact(object: Json): Json {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined));
}
