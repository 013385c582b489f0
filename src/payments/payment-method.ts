import type { Router } from 'express';

/** What a payment method is told about an order when the shopper starts paying. */
export interface PayableOrder {
  id: number;
  reference: string;
  totalPence: number;
  currency: 'GBP';
  items: { title: string; pricePence: number }[];
}

export type Availability = { available: true } | { available: false; reason: string };

/**
 * One way to pay (PayPal, mobile billing). Checkout and orders talk only to this interface; each
 * method brings its own browser and server-to-server routes, which settle orders through the
 * orders service.
 */
export interface PaymentMethod {
  readonly id: string;
  readonly label: string;
  /** Words for an order's page: what the method is called ("PayPal", "Mobile phone bill"), and how a paid order says it was paid. */
  readonly words: { name: string; paid: string };
  /** Origins the shopper's browser is sent to after posting the checkout form (for CSP form-action). */
  readonly redirectOrigins: string[];
  availability(totalPence: number): Availability;
  /** Opens the payment at the provider and says where to send the shopper's browser. */
  start(order: PayableOrder, storeOrigin: string): Promise<{ providerRef: string; redirectUrl: string }>;
  /** Asks the provider again about an attempt whose outcome we do not know yet. */
  check(providerRef: string): Promise<PaymentCheck>;
  /** Where a shopper whose attempt was declined can try again with the same provider (returning to storeOrigin). */
  resume(providerRef: string, storeOrigin: string): Promise<string>;
  refund(payment: { providerRef: string; captureRef: string | null; amountPence: number }): Promise<void>;
  /** The shopper's browser comes back through these (mounted after sessions and CSRF). */
  routes(): Router;
  /** Server-to-server notifications (mounted before body parsing and CSRF: they prove themselves). */
  notificationRoutes(): Router;
}

export type PaymentCheck = 'paid' | 'already-paid' | 'declined' | 'not-approved' | 'pending' | 'mismatch' | 'unavailable';

export class PaymentProviderError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}
