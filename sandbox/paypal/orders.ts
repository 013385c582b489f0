/**
 * The stand-in's state: orders, their captures and refunds, and the moves between PayPal's
 * statuses. Everything here is in memory; a restarted stand-in starts empty, like a fresh
 * sandbox account. Rendering these records as PayPal resources is resources.ts's job.
 */
import { notFound, unprocessable } from './errors.js';
import { payerIdFor, resourceId } from './ids.js';
import { fromMinor, paypalFee, toMinor } from './money.js';
import type { Money, OrderRequest, RefundRequest } from './types.js';

export type OrderStatus = 'CREATED' | 'PAYER_ACTION_REQUIRED' | 'APPROVED' | 'COMPLETED';
export type CaptureStatus = 'COMPLETED' | 'PENDING' | 'DECLINED' | 'PARTIALLY_REFUNDED' | 'REFUNDED';

export interface Address {
  address_line_1: string;
  admin_area_2: string;
  admin_area_1: string;
  postal_code: string;
  country_code: string;
}

/** The person who approved: the fake buyer of the approval page, with the email they typed. */
export interface Buyer {
  payerId: string;
  email: string;
  givenName: string;
  surname: string;
  address: Address;
}

export const DEFAULT_BUYER_EMAIL = 'buyer@example.com';

/** PayPal's own sandbox test buyers live at this address, so stores see a familiar one. */
const TEST_ADDRESS: Address = {
  address_line_1: '1 Main Terrace',
  admin_area_2: 'Wolverhampton',
  admin_area_1: 'West Midlands',
  postal_code: 'W12 4LQ',
  country_code: 'GB',
};

/** How the funding instrument the buyer picked will behave when the merchant captures. */
export type Instrument = 'good' | 'declined' | 'pending';

export interface ApproveOptions {
  email?: string;
  /** The buyer picked a card the issuer will decline: the capture fails with INSTRUMENT_DECLINED. */
  declined?: boolean;
  /** The capture succeeds but stays PENDING (as for an eCheck) until settled with a webhook. */
  pendingCapture?: boolean;
  /** The buyer's country (their PayPal account's address): GB unless given. */
  country?: string;
}

export interface OrderRecord {
  id: string;
  request: OrderRequest;
  status: OrderStatus;
  createTime: Date;
  updateTime: Date;
  buyer?: Buyer;
  instrument?: Instrument;
  captureIds: string[];
}

export interface CaptureRecord {
  id: string;
  orderId: string;
  unitIndex: number;
  status: CaptureStatus;
  amount: Money;
  fee: Money;
  customId?: string;
  invoiceId?: string;
  createTime: Date;
  updateTime: Date;
  refundIds: string[];
}

export interface RefundRecord {
  id: string;
  captureId: string;
  orderId: string;
  amount: Money;
  status: 'COMPLETED';
  customId?: string;
  invoiceId?: string;
  noteToPayer?: string;
  createTime: Date;
  updateTime: Date;
}

const DESCRIPTIONS = {
  ORDER_NOT_APPROVED:
    "Payer has not yet approved the Order for payment. Please redirect the payer to the 'rel':'approve' url returned as part of the HATEOAS links within the Create Order call or provide a valid payment_source in the request.",
  ORDER_ALREADY_CAPTURED: "Order already captured. If 'intent=CAPTURE' only one capture per order is allowed.",
  INSTRUMENT_DECLINED: "The instrument presented was either declined by the processor or bank, or it can't be used for this payment.",
  PENDING_CAPTURE:
    'Cannot initiate a refund as the capture is pending. Capture is typically pending when the payer has funded the transaction by using an e-check or bank account.',
  REFUND_NOT_ALLOWED: 'Capture cannot be refunded because it was not completed.',
  CAPTURE_FULLY_REFUNDED: 'The capture has already been fully refunded.',
  CURRENCY_MISMATCH: 'Refund must be in the same currency as the capture.',
  DECIMAL_PRECISION: 'The value has more decimal places than the currency supports.',
  CANNOT_BE_ZERO_OR_NEGATIVE: 'Must be greater than zero.',
  REFUND_AMOUNT_EXCEEDED: 'The refund amount must be less than or equal to the capture amount that has not yet been refunded.',
};

export class OrderBook {
  private readonly orders = new Map<string, OrderRecord>();
  private readonly captures = new Map<string, CaptureRecord>();
  private readonly refunds = new Map<string, RefundRecord>();

  constructor(private readonly clock: () => Date) {}

  create(request: OrderRequest): OrderRecord {
    const now = this.clock();
    const order: OrderRecord = {
      id: resourceId(),
      request,
      status: awaitingApproval(request),
      createTime: now,
      updateTime: now,
      captureIds: [],
    };
    this.orders.set(order.id, order);
    return order;
  }

  all(): OrderRecord[] {
    return [...this.orders.values()];
  }

  find(id: string): OrderRecord | undefined {
    return this.orders.get(id);
  }

  /** The order, or PayPal's 404 for the `id` path parameter. */
  get(id: string): OrderRecord {
    const order = this.orders.get(id);
    if (!order) throw notFound('id', id);
    return order;
  }

  /** What the buyer does on the approval page. Re-approving an approved order swaps the instrument. */
  approve(id: string, options: ApproveOptions = {}): OrderRecord {
    const order = this.orders.get(id);
    if (!order) throw new Error(`PayPal stand-in: no order ${id}`);
    if (!canApprove(order)) throw new Error(`PayPal stand-in: order ${id} is ${order.status} and can no longer be approved`);
    order.buyer = testBuyer(options.email ?? DEFAULT_BUYER_EMAIL, options.country);
    order.instrument = options.declined ? 'declined' : options.pendingCapture ? 'pending' : 'good';
    order.status = 'APPROVED';
    order.updateTime = this.clock();
    return order;
  }

  /** Captures every purchase unit, or throws the 422 PayPal gives for the order's state. */
  capture(id: string): CaptureRecord[] {
    const order = this.get(id);
    if (order.status === 'COMPLETED') throw unprocessable('ORDER_ALREADY_CAPTURED', DESCRIPTIONS.ORDER_ALREADY_CAPTURED);
    if (order.status !== 'APPROVED') throw unprocessable('ORDER_NOT_APPROVED', DESCRIPTIONS.ORDER_NOT_APPROVED);
    if (order.instrument === 'declined') {
      // As at PayPal, the buyer must go back through approval and choose another way to pay.
      this.resetApproval(order);
      throw unprocessable('INSTRUMENT_DECLINED', DESCRIPTIONS.INSTRUMENT_DECLINED);
    }
    const captures = order.request.purchase_units.map((_, index) => this.newCapture(order, index));
    order.status = 'COMPLETED';
    order.updateTime = this.clock();
    return captures;
  }

  capturesOf(order: OrderRecord): CaptureRecord[] {
    return order.captureIds.map((id) => this.captures.get(id)!);
  }

  findCapture(id: string): CaptureRecord | undefined {
    return this.captures.get(id);
  }

  getCapture(id: string): CaptureRecord {
    const capture = this.captures.get(id);
    if (!capture) throw notFound('capture_id', id);
    return capture;
  }

  /** A pending capture settles later; PayPal tells the merchant with a webhook. */
  settleCapture(capture: CaptureRecord, status: 'COMPLETED' | 'DECLINED'): void {
    capture.status = status;
    capture.updateTime = this.clock();
  }

  refund(captureId: string, request: RefundRequest): RefundRecord {
    const capture = this.getCapture(captureId);
    const amount = this.refundAmount(capture, request);
    const now = this.clock();
    const refund: RefundRecord = {
      id: resourceId(),
      captureId,
      orderId: capture.orderId,
      amount,
      status: 'COMPLETED',
      customId: request.custom_id,
      invoiceId: request.invoice_id ?? capture.invoiceId,
      noteToPayer: request.note_to_payer,
      createTime: now,
      updateTime: now,
    };
    this.refunds.set(refund.id, refund);
    capture.refundIds.push(refund.id);
    capture.status = this.refundableMinor(capture) === 0n ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
    capture.updateTime = now;
    return refund;
  }

  refundsOf(capture: CaptureRecord): RefundRecord[] {
    return capture.refundIds.map((id) => this.refunds.get(id)!);
  }

  getRefund(id: string): RefundRecord {
    const refund = this.refunds.get(id);
    if (!refund) throw notFound('refund_id', id);
    return refund;
  }

  private newCapture(order: OrderRecord, unitIndex: number): CaptureRecord {
    const unit = order.request.purchase_units[unitIndex];
    const amount: Money = { currency_code: unit.amount.currency_code, value: unit.amount.value };
    const now = this.clock();
    const capture: CaptureRecord = {
      id: resourceId(),
      orderId: order.id,
      unitIndex,
      status: order.instrument === 'pending' ? 'PENDING' : 'COMPLETED',
      amount,
      fee: paypalFee(amount),
      customId: unit.custom_id,
      invoiceId: unit.invoice_id,
      createTime: now,
      updateTime: now,
      refundIds: [],
    };
    this.captures.set(capture.id, capture);
    order.captureIds.push(capture.id);
    return capture;
  }

  private resetApproval(order: OrderRecord): void {
    order.status = awaitingApproval(order.request);
    order.buyer = undefined;
    order.instrument = undefined;
    order.updateTime = this.clock();
  }

  /** The amount to refund: what was asked for, or everything not yet refunded. Throws PayPal's 422s. */
  private refundAmount(capture: CaptureRecord, request: RefundRequest): Money {
    if (capture.status === 'PENDING') throw unprocessable('PENDING_CAPTURE', DESCRIPTIONS.PENDING_CAPTURE);
    if (capture.status === 'DECLINED') throw unprocessable('REFUND_NOT_ALLOWED', DESCRIPTIONS.REFUND_NOT_ALLOWED);
    const remaining = this.refundableMinor(capture);
    if (remaining <= 0n) throw unprocessable('CAPTURE_FULLY_REFUNDED', DESCRIPTIONS.CAPTURE_FULLY_REFUNDED);
    const asked = request.amount;
    if (!asked) return fromMinor(remaining, capture.amount.currency_code);
    if (asked.currency_code !== capture.amount.currency_code) {
      throw unprocessable('CURRENCY_MISMATCH', DESCRIPTIONS.CURRENCY_MISMATCH, '/amount/currency_code', asked.currency_code);
    }
    const minor = toMinor(asked);
    if (minor === undefined) throw unprocessable('DECIMAL_PRECISION', DESCRIPTIONS.DECIMAL_PRECISION, '/amount/value', asked.value);
    if (minor <= 0n)
      throw unprocessable('CANNOT_BE_ZERO_OR_NEGATIVE', DESCRIPTIONS.CANNOT_BE_ZERO_OR_NEGATIVE, '/amount/value', asked.value);
    if (minor > remaining) throw unprocessable('REFUND_AMOUNT_EXCEEDED', DESCRIPTIONS.REFUND_AMOUNT_EXCEEDED, '/amount/value', asked.value);
    return fromMinor(minor, asked.currency_code);
  }

  private refundableMinor(capture: CaptureRecord): bigint {
    const refunded = this.refundsOf(capture).reduce((total, r) => total + toMinor(r.amount)!, 0n);
    return toMinor(capture.amount)! - refunded;
  }
}

/**
 * An order made with payment_source.paypal starts as PAYER_ACTION_REQUIRED with a `payer-action`
 * link; one made the older way (application_context, or no source) starts CREATED with `approve`.
 */
export function awaitingApproval(request: OrderRequest): OrderStatus {
  return request.payment_source?.paypal ? 'PAYER_ACTION_REQUIRED' : 'CREATED';
}

export function canApprove(order: OrderRecord): boolean {
  return order.status !== 'COMPLETED';
}

function testBuyer(email: string, country = TEST_ADDRESS.country_code): Buyer {
  return { payerId: payerIdFor(email), email, givenName: 'Test', surname: 'Buyer', address: { ...TEST_ADDRESS, country_code: country } };
}
