/**
 * PayPal's REST endpoints as the stand-in serves them. Each handler checks the request against
 * the operation in PayPal's document (parameters, then body), applies PayPal's business rules,
 * and answers in the documented shape; every failure is a PayPalApiError rendered by apiErrors.
 */
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import { checkOrderRequest } from './amounts.js';
import { requireBearer, tokenEndpoint } from './auth.js';
import type { SandboxContext } from './context.js';
import { notFound, PayPalApiError } from './errors.js';
import { captureEvent, refundEvent } from './events.js';
import { basesFor, headerValue, originOf, readJson, reply, wantsRepresentation } from './http.js';
import { approvalUrl, renderCapture, renderCapturedMinimal, renderCreatedMinimal, renderOrder, renderRefund } from './resources.js';
import type { SpecName } from './schemas.js';
import type { OrderRequest, RefundRequest, VerifyWebhookSignatureRequest } from './types.js';

interface Operation {
  spec: SpecName;
  method: 'get' | 'post';
  route: string;
  /** The v1 notifications API reports bad bodies as VALIDATION_ERROR. */
  style?: 'v1';
}

const OPERATIONS = {
  createOrder: { spec: 'checkout_orders_v2', method: 'post', route: '/v2/checkout/orders' },
  getOrder: { spec: 'checkout_orders_v2', method: 'get', route: '/v2/checkout/orders/{id}' },
  captureOrder: { spec: 'checkout_orders_v2', method: 'post', route: '/v2/checkout/orders/{id}/capture' },
  getCapture: { spec: 'payments_payment_v2', method: 'get', route: '/v2/payments/captures/{capture_id}' },
  refundCapture: { spec: 'payments_payment_v2', method: 'post', route: '/v2/payments/captures/{capture_id}/refund' },
  getRefund: { spec: 'payments_payment_v2', method: 'get', route: '/v2/payments/refunds/{refund_id}' },
  verifySignature: { spec: 'notifications_webhooks_v1', method: 'post', route: '/v1/notifications/verify-webhook-signature', style: 'v1' },
} satisfies Record<string, Operation>;

export function apiRoutes(ctx: SandboxContext): express.Router {
  const router = express.Router();
  const { faults } = ctx;
  router.use(learnApiBase(ctx));
  router.post('/v1/oauth2/token', faults.at('token'), tokenEndpoint(ctx.options, ctx.tokens, ctx.clock));
  router.use(['/v1', '/v2'], requireBearer(ctx.tokens));
  router.post('/v2/checkout/orders', faults.at('create'), createOrder(ctx));
  router.get('/v2/checkout/orders/:id', getOrder(ctx));
  router.post('/v2/checkout/orders/:id/capture', faults.at('capture'), captureOrder(ctx));
  router.get('/v2/payments/captures/:capture_id', getCapture(ctx));
  router.post('/v2/payments/captures/:capture_id/refund', faults.at('refund'), refundCapture(ctx));
  router.get('/v2/payments/refunds/:refund_id', getRefund(ctx));
  router.post('/v1/notifications/verify-webhook-signature', faults.at('verify'), verifySignature(ctx));
  router.use(['/v1', '/v2'], () => {
    throw new PayPalApiError(404);
  });
  router.use(apiErrors(ctx));
  return router;
}

/**
 * A stand-in mounted inside another app (the demo) is told no address; the first API call shows
 * where it is reached, which is what links in webhooks sent later (from control) should use.
 */
function learnApiBase(ctx: SandboxContext): RequestHandler {
  return (req, _res, next) => {
    // Only API calls: a browser's first visit to the approval page sees the stand-in's public face.
    if (/^\/v[12]\//.test(req.path)) ctx.urls.api ??= originOf(req);
    next();
  };
}

/**
 * Checks path and header parameters, then the body, against the operation's document. A path
 * id that cannot be one of PayPal's is simply not found; a bad header or body is a 400.
 */
function checkRequest<T>(ctx: SandboxContext, req: Request, res: Response, op: Operation): T {
  // Remembered so that an error thrown later in the handler is described as this operation's.
  res.locals.operation = op;
  const validator = ctx.schemas.operation(op.spec, op.method, op.route);
  const parameterProblems = validator.parameters({ path: req.params as Record<string, string>, headers: req.headers });
  const pathProblem = parameterProblems.find((p) => p.location === 'path');
  if (pathProblem) throw notFound(pathProblem.field!, pathProblem.value ?? '');
  if (parameterProblems.length > 0) throw new PayPalApiError(400, parameterProblems);
  if (op.method === 'get') return undefined as T;
  const body = readJson(req);
  const bodyProblems = validator.body(body);
  if (bodyProblems.length > 0) throw new PayPalApiError(400, bodyProblems, op.style ?? 'v2');
  return body as T;
}

function requestId(req: Request): string | undefined {
  return headerValue(req, 'paypal-request-id');
}

function createOrder(ctx: SandboxContext): RequestHandler {
  return (req, res) => {
    const body = checkRequest<OrderRequest>(ctx, req, res, OPERATIONS.createOrder);
    const bases = basesFor(ctx.urls, req);
    const earlier = ctx.requestIds.lookup('create', '', requestId(req));
    if (earlier) {
      // The spec's 200: "a successful response to an idempotent request".
      const order = ctx.book.get(earlier);
      return reply(res, 200, wantsRepresentation(req) ? renderOrder(order, ctx.book, bases) : renderCreatedMinimal(order, bases));
    }
    const problems = checkOrderRequest(body);
    if (problems.length > 0) throw new PayPalApiError(422, problems);
    const order = ctx.book.create(body);
    ctx.requestIds.remember('create', '', requestId(req), order.id);
    reply(res, 201, wantsRepresentation(req) ? renderOrder(order, ctx.book, bases) : renderCreatedMinimal(order, bases));
  };
}

function getOrder(ctx: SandboxContext): RequestHandler {
  return (req, res) => {
    checkRequest(ctx, req, res, OPERATIONS.getOrder);
    reply(res, 200, renderOrder(ctx.book.get(req.params.id as string), ctx.book, basesFor(ctx.urls, req)));
  };
}

function captureOrder(ctx: SandboxContext): RequestHandler {
  return (req, res) => {
    checkRequest(ctx, req, res, OPERATIONS.captureOrder);
    const id = req.params.id as string;
    const bases = basesFor(ctx.urls, req);
    const answer = (status: number) => {
      const order = ctx.book.get(id);
      reply(res, status, wantsRepresentation(req) ? renderOrder(order, ctx.book, bases) : renderCapturedMinimal(order, ctx.book, bases));
    };
    if (ctx.requestIds.lookup('capture', id, requestId(req))) return answer(200);
    const captures = withDeclineRedirect(() => ctx.book.capture(id), approvalUrl(bases, id));
    ctx.requestIds.remember('capture', id, requestId(req), id);
    answer(201);
    for (const capture of captures) {
      const type = capture.status === 'PENDING' ? 'PAYMENT.CAPTURE.PENDING' : 'PAYMENT.CAPTURE.COMPLETED';
      void ctx.webhooks.send(captureEvent(type, capture, bases, ctx.clock()));
    }
  };
}

/** INSTRUMENT_DECLINED comes with a `redirect` link: send the buyer back to choose another way to pay. */
function withDeclineRedirect<T>(action: () => T, approveHref: string): T {
  try {
    return action();
  } catch (error) {
    if (error instanceof PayPalApiError && error.details[0]?.issue === 'INSTRUMENT_DECLINED') {
      error.links.push({ href: approveHref, rel: 'redirect', method: 'GET' });
    }
    throw error;
  }
}

function getCapture(ctx: SandboxContext): RequestHandler {
  return (req, res) => {
    checkRequest(ctx, req, res, OPERATIONS.getCapture);
    reply(res, 200, renderCapture(ctx.book.getCapture(req.params.capture_id as string), basesFor(ctx.urls, req), true));
  };
}

function refundCapture(ctx: SandboxContext): RequestHandler {
  return (req, res) => {
    const body = checkRequest<RefundRequest>(ctx, req, res, OPERATIONS.refundCapture);
    const captureId = req.params.capture_id as string;
    const bases = basesFor(ctx.urls, req);
    const answer = (refundId: string) => {
      const full = renderRefund(ctx.book.getRefund(refundId), ctx.book, bases);
      // The spec documents only 201 here, for first calls and repeats alike.
      reply(res, 201, wantsRepresentation(req) ? full : { id: full.id, status: full.status, links: full.links });
    };
    const earlier = ctx.requestIds.lookup('refund', captureId, requestId(req));
    if (earlier) return answer(earlier);
    const refund = ctx.book.refund(captureId, body);
    ctx.requestIds.remember('refund', captureId, requestId(req), refund.id);
    answer(refund.id);
    void ctx.webhooks.send(refundEvent(refund, ctx.book, bases, ctx.clock()));
  };
}

function getRefund(ctx: SandboxContext): RequestHandler {
  return (req, res) => {
    checkRequest(ctx, req, res, OPERATIONS.getRefund);
    reply(res, 200, renderRefund(ctx.book.getRefund(req.params.refund_id as string), ctx.book, basesFor(ctx.urls, req)));
  };
}

function verifySignature(ctx: SandboxContext): RequestHandler {
  return (req, res) => {
    const body = checkRequest<VerifyWebhookSignatureRequest>(ctx, req, res, OPERATIONS.verifySignature);
    reply(res, 200, { verification_status: ctx.webhooks.verify(body) ? 'SUCCESS' : 'FAILURE' });
  };
}

/** PayPal's error JSON for everything that goes wrong; a debug id in the body and the header. */
function apiErrors(ctx: SandboxContext): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    if (res.headersSent) return void res.destroy();
    const error = asApiError(err);
    const op = res.locals.operation as Operation | undefined;
    if (op) useDocumentedDescriptions(ctx, op, error);
    const body = error.body();
    res.setHeader('Paypal-Debug-Id', body.debug_id as string);
    reply(res, error.status, body);
  };
}

/** PayPal's documents fix each issue's wording per operation; where they do, that is what is sent. */
function useDocumentedDescriptions(ctx: SandboxContext, op: Operation, error: PayPalApiError): void {
  for (const detail of error.details) {
    detail.description = ctx.schemas.issueDescription(op.spec, op.method, op.route, error.status, detail.issue) ?? detail.description;
  }
}

/** Anything that is not a PayPalApiError is a bug in the stand-in: logged, and answered as PayPal's 500. */
function asApiError(err: unknown): PayPalApiError {
  if (err instanceof PayPalApiError) return err;
  console.error('PayPal stand-in: unexpected error', err);
  return new PayPalApiError(500);
}
