import { Router, type Request } from 'express';
import { z } from 'zod';
import type { BasketService, PricedBasket } from '../basket/basket.js';
import { contactText } from '../customers/contact.js';
import { customerIdOf } from '../customers/session.js';
import type { DownloadAccess } from '../downloads/access.js';
import { emptyBasket } from '../basket/basket.js';
import { PaymentProviderError, type PaymentMethod } from '../payments/payment-method.js';
import { HttpError } from '../web/errors.js';
import { flash } from '../web/flash.js';
import { parseBody } from '../web/params.js';
import { affiliateCookie } from '../affiliates/referral.js';
import { orderVat, vatRateText, type Seller } from '../labels/vat.js';
import { ORDER_REFERENCE_PATTERN } from './reference.js';
import type { OrdersService } from './service.js';
import { ownsOrder, rememberOrder, removePaidItems } from './session-orders.js';

export interface CheckoutDeps {
  baskets: BasketService;
  orders: OrdersService;
  methods: PaymentMethod[];
  publicUrl: string | undefined;
  /** The affiliate number when it names a known, active affiliate now; else null (src/affiliates/). */
  activeAffiliate?: (id: number | null) => Promise<number | null>;
  /** The music this browser may download now (src/downloads/access.ts): a paid order's page offers it at once. */
  downloads: Pick<DownloadAccess, 'music'>;
  /** The company and VAT number order pages and receipts name. */
  seller?: Seller;
}

export function checkoutRoutes({
  baskets,
  orders,
  methods,
  publicUrl,
  activeAffiliate = async () => null,
  downloads,
  seller = { companyName: '', vatNumber: null },
}: CheckoutDeps): Router {
  const router = Router();
  const methodIds = methods.map((m) => m.id) as [string, ...string[]];
  const checkoutForm = z.object({
    method: z.enum(methodIds),
    adult: z.literal('yes').optional(),
    marketing: z.literal('yes').optional(),
  });
  const methodById = (id: string) => methods.find((m) => m.id === id)!;
  const origin = (req: Request) => publicUrl ?? `${req.protocol}://${req.get('host')}`;

  const renderCheckout = (res: import('express').Response, basket: PricedBasket, status = 200, error?: string) =>
    res.status(status).render('orders/checkout', {
      title: 'Checkout',
      robots: 'noindex',
      basket,
      error,
      methods: methods.map((m) => ({ id: m.id, label: m.label, ...m.availability(basket.totalPence) })),
    });

  router.get('/checkout', async (req, res) => {
    const basket = await baskets.priced(req.session.basket ?? emptyBasket());
    if (basket.lines.length === 0) {
      flash(req, 'info', 'Your basket is empty: add some music first.');
      return res.redirect(303, '/basket');
    }
    renderCheckout(res, basket);
  });

  router.post('/checkout', async (req, res) => {
    const form = parseBody(checkoutForm, req.body);
    // Only ids travel in the session; every price is read from the database now.
    const basket = await baskets.priced(req.session.basket ?? emptyBasket());
    if (basket.lines.length === 0) throw new HttpError(400, 'Your basket is empty, so there is nothing to pay for.');
    if (!form.adult) return renderCheckout(res, basket, 400, 'Please confirm that you are 18 or over to buy from this store.');
    const method = methodById(form.method);
    const availability = method.availability(basket.totalPence);
    if (!availability.available) return renderCheckout(res, basket, 400, availability.reason);

    const order = await orders.placeOrder({
      basket,
      paymentMethod: method.id,
      marketingOptIn: form.marketing === 'yes',
      affiliateId: await activeAffiliate(affiliateCookie(req)),
      placedByCustomerId: customerIdOf(req) ?? null,
    });
    rememberOrder(req, order.reference);
    try {
      const payable = {
        id: order.id,
        reference: order.reference,
        totalPence: basket.totalPence,
        currency: 'GBP' as const,
        items: basket.lines.map((l) => ({ title: `${l.artistName} – ${l.title}`, pricePence: l.pricePence })),
      };
      const started = await method.start(payable, origin(req));
      await orders.paymentStarted(order.id, method.id, started.providerRef);
      res.redirect(303, started.redirectUrl);
    } catch (error) {
      if (!(error instanceof PaymentProviderError)) throw error;
      await orders.startFailed(order.id, error.message);
      renderCheckout(
        res,
        basket,
        503,
        `${method.label.replace(/^Pay (with|by) /, '')} is not answering right now, so nothing was charged. Your basket is safe: please try again in a moment.`,
      );
    }
  });

  /** An order page, shown only to the browser that placed the order. */
  async function ownedOrder(req: Request) {
    const reference = String(req.params.reference ?? '');
    const order =
      ORDER_REFERENCE_PATTERN.test(reference) && ownsOrder(req, reference) ? await orders.findByReference(reference) : undefined;
    if (!order) throw new HttpError(404, 'We could not find that order.');
    return order;
  }

  /** The VAT in an order's total and who sold it, as order pages and receipts show them. */
  const vatOf = (order: { vat_basis_points: number }, items: { price_pence: number }[]) => ({
    vatPence: orderVat(items, order.vat_basis_points),
    vatRate: vatRateText(order.vat_basis_points),
    seller,
  });

  router.get('/orders/:reference', async (req, res) => {
    const order = await ownedOrder(req);
    const details = await orders.details(order.id, order);
    if (order.status === 'paid') removePaidItems(req, details.items);
    const music = order.status === 'paid' ? await downloads.music(req, order.id) : [];
    const method = methods.find((m) => m.id === order.payment_method);
    // "Paid with" only once it is paid (a refunded order was paid too); before that, only which method was chosen.
    const wasPaid = order.status === 'paid' || order.status === 'refunded';
    const paymentNote = method
      ? wasPaid
        ? method.words.paid
        : `Payment method: ${method.words.name}`
      : `Payment method: ${order.payment_method}`;
    res.render('orders/order', {
      title: `Order ${order.reference}`,
      robots: 'noindex',
      ...details,
      ...vatOf(order, details.items),
      music,
      paymentNote,
      contactLabel:
        details.contact && contactText(details.contact.email ? { email: details.contact.email } : { msisdn: details.contact.msisdn! }),
      methodLabel: method?.label ?? order.payment_method,
    });
  });

  /** A printable VAT receipt of a paid (or since refunded) order, for the browser that placed it. */
  router.get('/orders/:reference/receipt', async (req, res) => {
    const order = await ownedOrder(req);
    if (order.status !== 'paid' && order.status !== 'refunded')
      throw new HttpError(404, 'There is no receipt for an order that was not paid.');
    const details = await orders.details(order.id, order);
    const methodLabel = methods.find((m) => m.id === order.payment_method)?.label ?? order.payment_method;
    res.render('orders/receipt', {
      title: `Receipt ${order.reference}`,
      robots: 'noindex',
      ...details,
      ...vatOf(order, details.items),
      methodLabel,
    });
  });

  router.post('/orders/:reference/check', async (req, res) => {
    const order = await ownedOrder(req);
    const payment = await orders.latestPayment(order.id);
    if (payment && order.status !== 'paid') {
      const outcome = await methodById(payment.method).check(payment.provider_ref);
      if (outcome === 'unavailable')
        flash(req, 'error', 'We still cannot reach the payment provider. Please try again in a minute; nothing will be charged twice.');
    }
    res.redirect(303, `/orders/${order.reference}`);
  });

  router.post('/orders/:reference/retry', async (req, res) => {
    const order = await ownedOrder(req);
    const payment = await orders.latestPayment(order.id);
    if (!payment || order.status === 'paid') return res.redirect(303, `/orders/${order.reference}`);
    try {
      res.redirect(303, await methodById(payment.method).resume(payment.provider_ref, origin(req)));
    } catch (error) {
      if (!(error instanceof PaymentProviderError)) throw error;
      flash(req, 'error', 'The payment provider is not answering right now. Please try again in a moment.');
      res.redirect(303, `/orders/${order.reference}`);
    }
  });

  return router;
}
