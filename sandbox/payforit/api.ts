/**
 * The intermediary's server-to-server endpoints: the status query (section 4) and refunds
 * (section 5). Requests prove themselves by signature; answers are signed JSON.
 */
import express, { type Response } from 'express';
import { singleValued, signParams, verifyParams, type SignedParams } from '../../src/payments/payforit/signature.js';
import type { FaultPoint, SandboxContext } from './context.js';
import { resultFields } from './transactions.js';

export function apiRoutes(ctx: SandboxContext): express.Router {
  const router = express.Router();

  router.get('/transactions/:id', (req, res) => {
    const params = singleValued(new URL(req.originalUrl, 'http://stand-in.invalid').searchParams);
    if (!authentic(ctx, params, res) || fault(ctx, 'status', res)) return;
    const transaction = ctx.book.find(req.params.id);
    const fields = transaction && transaction.request.merchantId === params!.merchant_id ? resultFields(transaction) : undefined;
    // Unknown, another merchant's, or not finished yet: there is no result to tell.
    if (!fields) return answer(ctx, res, 404, { error: 'unknown transaction' });
    answer(ctx, res, 200, fields);
  });

  router.post('/refunds', (req, res) => {
    if (!req.is('application/x-www-form-urlencoded')) return answer(ctx, res, 415, { error: 'expected application/x-www-form-urlencoded' });
    const params = singleValued(new URLSearchParams(typeof req.body === 'string' ? req.body : ''));
    if (!authentic(ctx, params, res) || fault(ctx, 'refund', res)) return;
    const transaction = ctx.book.find(params!.transaction_id ?? '');
    if (!transaction || transaction.request.merchantId !== params!.merchant_id || transaction.state !== 'charged')
      return answer(ctx, res, 404, { error: 'unknown transaction' });
    const amount = /^[1-9]\d{0,8}$/.test(params!.amount_pence ?? '') ? Number(params!.amount_pence) : NaN;
    const left = transaction.request.amountPence - ctx.book.refundedPence(transaction);
    if (left <= 0) return answer(ctx, res, 409, { error: 'already refunded' });
    if (!(amount >= 1 && amount <= left)) return answer(ctx, res, 400, { error: `amount_pence must be 1 to ${left}` });
    const refundId = ctx.book.refund(transaction, amount);
    answer(ctx, res, 200, { refund_id: refundId, status: 'refunded' });
  });
  return router;
}

/** A request from the registered merchant, correctly signed and on time; otherwise answered here. */
function authentic(ctx: SandboxContext, params: SignedParams | undefined, res: Response): boolean {
  if (!params) {
    answer(ctx, res, 400, { error: 'a parameter is repeated' });
    return false;
  }
  if (params.merchant_id !== ctx.options.merchantId) {
    answer(ctx, res, 401, { error: 'unknown merchant' });
    return false;
  }
  const verified = verifyParams(params, ctx.options.secret, ctx.clock());
  if (!verified.ok) {
    answer(ctx, res, 401, { error: verified.reason });
    return false;
  }
  return true;
}

function fault(ctx: SandboxContext, point: FaultPoint, res: Response): boolean {
  const armed = ctx.faults.get(point) ?? 0;
  if (armed <= 0) return false;
  ctx.faults.set(point, armed - 1);
  res.status(500).type('text').send('PayForIt stand-in: failing as asked');
  return true;
}

/** Every message carries a timestamp and signature, answers included. */
function answer(ctx: SandboxContext, res: Response, status: number, body: SignedParams): void {
  res.status(status).json(signParams(body, ctx.options.secret, ctx.clock()));
}
