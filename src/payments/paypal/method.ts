import express, { Router } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { OrdersService, SettleResult } from '../../orders/service.js';
import { ownsOrder } from '../../orders/session-orders.js';
import { HttpError } from '../../web/errors.js';
import { parseQuery } from '../../web/params.js';
import { PaymentProviderError, type PayableOrder, type PaymentCheck, type PaymentMethod } from '../payment-method.js';
import { PayPalApiError, type PayPalClient, type PayPalOrder } from './client.js';
import { penceToValue, valueToPence } from './money.js';

export interface PayPalMethodDeps {
  client: PayPalClient;
  apiBase: string;
  orders: OrdersService;
  webhookId: string;
  storeName: string;
  logger: Logger;
}

const METHOD = 'paypal';
const tokenQuery = z.object({ token: z.string().regex(/^[A-Za-z0-9-]{1,64}$/) }).passthrough();
const WebhookEvent = z.object({
  id: z.string().min(1).max(100),
  event_type: z.string().max(60),
  resource: z.record(z.unknown()),
});
const CaptureResource = z.object({
  id: z.string(),
  amount: z.object({ currency_code: z.string(), value: z.string() }),
  supplementary_data: z.object({ related_ids: z.object({ order_id: z.string() }) }),
});
const RefundResource = z.object({
  amount: z.object({ currency_code: z.string(), value: z.string() }),
  links: z.array(z.object({ rel: z.string(), href: z.string() })).default([]),
});

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The payer's email is the one thing we keep from PayPal's answer about the payer. */
function payerEmail(order: PayPalOrder): string | undefined {
  const email = order.payment_source?.paypal?.email_address ?? order.payer?.email_address;
  return email ? email.trim().toLowerCase() : undefined;
}

/** The payer's country (Orders v2 payment_source.paypal.address / payer.address country_code): the country of sale, for VAT and label statements. */
function payerCountry(order: PayPalOrder): string | undefined {
  return order.payment_source?.paypal?.address?.country_code ?? order.payer?.address?.country_code;
}

function approveLink(order: PayPalOrder): string {
  const link = order.links.find((l) => l.rel === 'payer-action' || l.rel === 'approve');
  if (!link) throw new PaymentProviderError('PayPal gave no approval link', false);
  return link.href;
}

/** Where PayPal's approval pages live for an API host; a stand-in serves its own. */
function approvalOrigins(apiBase: string): string[] {
  const { origin, hostname } = new URL(apiBase);
  if (hostname === 'api-m.paypal.com' || hostname === 'api.paypal.com') return ['https://www.paypal.com'];
  if (hostname.endsWith('sandbox.paypal.com')) return ['https://www.sandbox.paypal.com'];
  return [origin];
}

export function createPayPalMethod({ client, apiBase, orders, webhookId, storeName, logger }: PayPalMethodDeps): PaymentMethod {
  /** Settles from PayPal's view of an order once its capture completed. */
  async function settleFrom(order: PayPalOrder, source: string): Promise<PaymentCheck> {
    const capture = order.purchase_units[0]?.payments?.captures?.[0];
    if (!capture || capture.status === 'PENDING') return 'pending';
    if (capture.status !== 'COMPLETED') {
      await orders.recordDecline(METHOD, order.id, 'declined', `capture ${capture.status}`);
      return 'declined';
    }
    const full = payerEmail(order) ? order : await client.getOrder(order.id);
    const email = payerEmail(full);
    if (!email || !capture.amount) throw new PaymentProviderError('PayPal did not say who paid or how much', false);
    return settled(
      await orders.settleCapture({
        method: METHOD,
        providerRef: order.id,
        captureRef: capture.id,
        amountPence: valueToPence(capture.amount.value),
        currency: capture.amount.currency_code,
        contact: { email },
        countryCode: payerCountry(full),
        source,
      }),
    );
  }

  function settled(result: SettleResult): PaymentCheck {
    if (result === 'unknown-payment') throw new HttpError(404, 'We could not find that payment.');
    return result;
  }

  async function captureAndSettle(providerRef: string, source: string): Promise<PaymentCheck> {
    try {
      return await settleFrom(await client.captureOrder(providerRef, `capture-${providerRef}-${Date.now()}`), source);
    } catch (error) {
      if (!(error instanceof PaymentProviderError)) throw error;
      const issue = error instanceof PayPalApiError ? error.issue : undefined;
      if (issue === 'ORDER_ALREADY_CAPTURED') return settleFrom(await client.getOrder(providerRef), source);
      if (issue === 'INSTRUMENT_DECLINED') {
        await orders.recordDecline(METHOD, providerRef, 'declined', 'instrument declined');
        return 'declined';
      }
      if (issue === 'ORDER_NOT_APPROVED') return 'not-approved';
      logger.warn({ err: { message: error.message }, providerRef }, 'PayPal capture could not be completed');
      return 'unavailable';
    }
  }

  function createBody(order: PayableOrder, storeOrigin: string) {
    const money = (pence: number) => ({ currency_code: order.currency, value: penceToValue(pence) });
    return {
      intent: 'CAPTURE',
      purchase_units: [
        {
          reference_id: order.reference,
          invoice_id: order.reference,
          description: `${storeName} order ${order.reference}`.slice(0, 127),
          amount: { ...money(order.totalPence), breakdown: { item_total: money(order.totalPence) } },
          items: order.items.map((item) => ({
            name: item.title.slice(0, 127),
            quantity: '1',
            unit_amount: money(item.pricePence),
            category: 'DIGITAL_GOODS',
          })),
        },
      ],
      payment_source: {
        paypal: {
          experience_context: {
            brand_name: storeName.slice(0, 127),
            shipping_preference: 'NO_SHIPPING',
            user_action: 'PAY_NOW',
            return_url: `${storeOrigin}/checkout/paypal/return`,
            cancel_url: `${storeOrigin}/checkout/paypal/cancel`,
          },
        },
      },
    };
  }

  /**
   * The shopper's return usually settles the capture while its webhook arrives. A payment already
   * recorded as captured (by this capture, when one is named) has nothing left to apply, so PayPal
   * is not asked about it again and no transaction is opened. Anything else takes the full path.
   */
  async function alreadyCaptured(providerRef: string, captureRef?: string): Promise<boolean> {
    const payment = await orders.paymentAfterSettling(METHOD, providerRef);
    return payment?.status === 'captured' && (captureRef === undefined || payment.capture_ref === captureRef);
  }

  async function handleEvent(event: z.infer<typeof WebhookEvent>): Promise<void> {
    if (event.event_type === 'CHECKOUT.ORDER.APPROVED') {
      // The shopper approved but may never come back (closed tab): capture now, once.
      const order = z.object({ id: z.string() }).parse(event.resource);
      if (await alreadyCaptured(order.id)) return;
      if ((await captureAndSettle(order.id, 'webhook')) === 'unavailable') throw new PaymentProviderError('capture unavailable', true);
    } else if (event.event_type === 'PAYMENT.CAPTURE.COMPLETED') {
      const capture = CaptureResource.parse(event.resource);
      const orderId = capture.supplementary_data.related_ids.order_id;
      if (await alreadyCaptured(orderId, capture.id)) return;
      await settleFrom(await client.getOrder(orderId), 'webhook');
    } else if (event.event_type === 'PAYMENT.CAPTURE.DENIED') {
      const capture = CaptureResource.parse(event.resource);
      await orders.recordDecline(METHOD, capture.supplementary_data.related_ids.order_id, 'declined', 'capture denied (webhook)');
    } else if (event.event_type === 'PAYMENT.CAPTURE.REFUNDED') {
      const refund = RefundResource.parse(event.resource);
      const captureId = refund.links.find((l) => l.rel === 'up')?.href.match(/\/captures\/([^/?]+)/)?.[1];
      if (captureId) await orders.recordRefund(METHOD, captureId, valueToPence(refund.amount.value), 'webhook');
    }
  }

  return {
    id: METHOD,
    label: 'Pay with PayPal',
    words: { name: 'PayPal', paid: 'Paid with PayPal' },
    redirectOrigins: approvalOrigins(apiBase),
    availability: () => ({ available: true }),

    async start(order, storeOrigin) {
      // The order reference as PayPal-Request-Id: a retried create returns the same PayPal order.
      const created = await client.createOrder(createBody(order, storeOrigin), `create-${order.reference}`);
      return { providerRef: created.id, redirectUrl: approveLink(created) };
    },

    check: (providerRef) => captureAndSettle(providerRef, 'status check'),

    async resume(providerRef) {
      return approveLink(await client.getOrder(providerRef));
    },

    async refund({ captureRef, amountPence }) {
      if (!captureRef) throw new PaymentProviderError('nothing was captured to refund', false);
      await client.refundCapture(captureRef, { currency_code: 'GBP', value: penceToValue(amountPence) }, `refund-${captureRef}`);
      await orders.recordRefund(METHOD, captureRef, amountPence, 'operator');
    },

    routes() {
      const router = Router();
      /** The order behind a PayPal token, if this browser placed it. */
      async function ownedPayment(req: express.Request) {
        const { token } = parseQuery(tokenQuery, req.query);
        const found = await orders.findPaymentWithOrder(METHOD, token);
        if (!found || !ownsOrder(req, found.reference)) throw new HttpError(404, 'We could not find that payment.');
        return {
          payment: { provider_ref: found.provider_ref },
          order: { id: found.order_id, reference: found.reference, status: found.status },
        };
      }

      router.get('/checkout/paypal/return', async (req, res) => {
        const { payment, order } = await ownedPayment(req);
        if (order.status !== 'paid' && order.status !== 'refunded') {
          const outcome = await captureAndSettle(payment.provider_ref, 'return');
          if (outcome === 'not-approved') throw new HttpError(409, 'This payment has not been approved at PayPal, so nothing was charged.');
        }
        res.redirect(303, `/orders/${order.reference}`);
      });

      router.get('/checkout/paypal/cancel', async (req, res) => {
        const { order } = await ownedPayment(req);
        await orders.cancel(order.id, 'shopper cancelled at PayPal');
        res.redirect(303, `/orders/${order.reference}`);
      });
      return router;
    },

    notificationRoutes() {
      const router = Router();
      router.post('/webhooks/paypal', express.text({ type: () => true, limit: '256kb' }), async (req, res) => {
        const raw = typeof req.body === 'string' ? req.body : '';
        const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]));
        let verified: boolean;
        try {
          verified = await client.verifyWebhook(headers, raw, webhookId);
        } catch (error) {
          if (!(error instanceof PaymentProviderError)) throw error;
          // PayPal unreachable: 503 makes it deliver again later. A refusal means not verified.
          if (error.retryable) {
            res.status(503).type('text').send('verification unavailable, retry later');
            return;
          }
          verified = false;
        }
        if (!verified) throw new HttpError(400, 'webhook signature not verified');
        const event = WebhookEvent.safeParse(parseJson(raw));
        if (!event.success) throw new HttpError(400, 'not a webhook event');
        if (!(await orders.providerEventSeen(METHOD, event.data.id))) {
          try {
            await handleEvent(event.data);
          } catch (error) {
            // Not applied yet: a non-2xx answer makes PayPal deliver the event again later.
            if (error instanceof PaymentProviderError && error.retryable) {
              res.status(503).type('text').send('try again later');
              return;
            }
            throw error;
          }
          await orders.recordProviderEvent(METHOD, event.data.id, event.data.event_type);
        }
        res.status(200).type('text').send('OK');
      });
      return router;
    },
  };
}
