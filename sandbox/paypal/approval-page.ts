/**
 * The stand-in for PayPal's checkout page (the `approve` / `payer-action` link). A person in the
 * demo, or a browser test, approves or cancels here; it is plain HTML forms with no script, so it
 * works with JavaScript off. Everything taken from the order is escaped before it is written out.
 */
import crypto from 'node:crypto';
import express, { type Request, type Response } from 'express';
import { escapeHtml, sendStandInPage } from '../html-page.js';
import type { SandboxContext } from './context.js';
import { readForm } from './http.js';
import { fromMinor, toMinor } from './money.js';
import { type ApproveOptions, canApprove, DEFAULT_BUYER_EMAIL, type OrderRecord } from './orders.js';
import type { ExperienceContext, Money, OrderRequest } from './types.js';

const STYLE = `
  body { font-family: system-ui, sans-serif; background: #f5f7fa; color: #1a1a1a; margin: 0; padding: 2rem 1rem; }
  main { max-width: 32rem; margin: 0 auto; background: #fff; border-radius: 12px; padding: 1.5rem 2rem; box-shadow: 0 2px 8px rgba(0,0,0,.08); }
  .brand { font-size: 1.6rem; font-weight: 700; color: #003087; margin: 0; }
  .brand span { font-size: 1rem; font-weight: 400; color: #555; }
  .banner { background: #fff4d6; border: 1px solid #f0c36d; border-radius: 6px; padding: .5rem .75rem; font-size: .9rem; }
  .notice { background: #e8f1fb; border-radius: 6px; padding: .5rem .75rem; }
  .error { background: #fde8e8; border-radius: 6px; padding: .5rem .75rem; color: #8a1f11; }
  table { width: 100%; border-collapse: collapse; margin: 1rem 0; }
  td, th { padding: .4rem 0; border-bottom: 1px solid #eee; text-align: left; }
  td.money, th.money { text-align: right; white-space: nowrap; }
  .total { font-size: 1.2rem; font-weight: 700; text-align: right; }
  label { display: block; margin: 1rem 0 .25rem; font-weight: 600; }
  input[type=email] { width: 100%; box-sizing: border-box; padding: .5rem; border: 1px solid #aaa; border-radius: 6px; }
  button, input { font: inherit; }
  button { display: block; width: 100%; margin-top: .75rem; padding: .75rem; border-radius: 24px; border: 0; cursor: pointer; }
  .approve { background: #ffc439; color: #111; font-weight: 700; }
  .decline { background: #fff; border: 1px solid #999; color: #333; }
  .cancel { background: none; color: #0070ba; text-decoration: underline; }
`;
/** The page allows its one stylesheet by hash and nothing else: no scripts, no frames, no fetches. */
const CSP = `default-src 'none'; style-src 'sha256-${crypto.createHash('sha256').update(STYLE).digest('base64')}'; base-uri 'none'; frame-ancestors 'none'`;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function approvalRoutes(ctx: SandboxContext): express.Router {
  const router = express.Router();
  router.get('/checkoutnow', (req, res) => {
    const order = findOrder(ctx, req.query.token);
    if (!order)
      return sendPage(res, 404, messagePage('Order not found', 'This checkout link does not match any order. It may have expired.'));
    sendPage(res, 200, orderPage(order, req.baseUrl));
  });
  router.post('/checkoutnow/approve', (req, res) => approveFromForm(ctx, req, res));
  router.post('/checkoutnow/cancel', (req, res) => cancelFromForm(ctx, req, res));
  return router;
}

function findOrder(ctx: SandboxContext, token: unknown): OrderRecord | undefined {
  return typeof token === 'string' ? ctx.book.find(token) : undefined;
}

function approveFromForm(ctx: SandboxContext, req: Request, res: Response): void {
  const form = readForm(req);
  const order = findOrder(ctx, form.get('token'));
  if (!order) return sendPage(res, 404, messagePage('Order not found', 'This checkout link does not match any order.'));
  const email = (form.get('email') ?? '').trim();
  if (!EMAIL.test(email) || email.length > 254) {
    return sendPage(res, 400, orderPage(order, req.baseUrl, { email, error: 'Enter an email address such as buyer@example.com.' }));
  }
  if (!canApprove(order)) return sendPage(res, 409, orderPage(order, req.baseUrl));
  const { redirectUrl } = approveOrder(ctx, order.id, { email, declined: form.get('choice') === 'decline' });
  if (redirectUrl) return void res.redirect(303, redirectUrl);
  sendPage(
    res,
    200,
    messagePage('Payment approved', 'The merchant gave no return address, so there is nowhere to send you. You can close this window.'),
  );
}

function cancelFromForm(ctx: SandboxContext, req: Request, res: Response): void {
  const order = findOrder(ctx, readForm(req).get('token'));
  if (!order) return sendPage(res, 404, messagePage('Order not found', 'This checkout link does not match any order.'));
  // PayPal leaves the order as it was: the merchant may send the buyer back to approve later.
  const cancelUrl = experienceOf(order.request).cancel_url;
  if (cancelUrl) return void res.redirect(303, withParams(cancelUrl, { token: order.id }));
  sendPage(res, 200, messagePage('Payment cancelled', 'You cancelled this payment. You can close this window.'));
}

/**
 * Approval as the page does it, shared with control.approve(): records the buyer's choice and
 * returns where PayPal would send the browser (return_url?token=...&PayerID=...).
 */
export function approveOrder(ctx: SandboxContext, orderId: string, options: ApproveOptions): { redirectUrl?: string; payerId: string } {
  const order = ctx.book.approve(orderId, options);
  const payerId = order.buyer!.payerId;
  const returnUrl = experienceOf(order.request).return_url;
  return { payerId, redirectUrl: returnUrl ? withParams(returnUrl, { token: order.id, PayerID: payerId }) : undefined };
}

/** Orders made with payment_source.paypal carry their URLs there; older ones in application_context. */
export function experienceOf(request: OrderRequest): ExperienceContext {
  return request.payment_source?.paypal?.experience_context ?? request.application_context ?? {};
}

function withParams(base: string, params: Record<string, string>): string {
  const url = new URL(base);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return url.toString();
}

function sendPage(res: Response, status: number, html: string): void {
  sendStandInPage(res, status, html, CSP);
}

// ---------------------------------------------------------------------------------------------
// HTML

function layout(title: string, content: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · PayPal (test stand-in)</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<p class="brand">PayPal <span>(test stand-in)</span></p>
<p class="banner">Test mode: no real money moves. This page stands in for PayPal checkout.</p>
${content}
</main>
</body>
</html>
`;
}

function messagePage(title: string, message: string): string {
  return layout(title, `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(message)}</p>`);
}

/** `mount` is where the stand-in's app is mounted ('' at the root), so the forms post back to it. */
function orderPage(order: OrderRecord, mount: string, form: { email?: string; error?: string } = {}): string {
  const merchant = experienceOf(order.request).brand_name ?? 'the merchant';
  const parts = [
    `<h1>Pay ${escapeHtml(merchant)}</h1>`,
    statusNotice(order),
    form.error ? `<p class="error" role="alert">${escapeHtml(form.error)}</p>` : '',
  ];
  parts.push(itemsTable(order.request), `<p class="total">Total ${escapeHtml(formatMoney(orderTotal(order.request)))}</p>`);
  if (canApprove(order)) parts.push(approvalForms(order, mount, form.email ?? order.buyer?.email ?? DEFAULT_BUYER_EMAIL));
  return layout(`Pay ${merchant}`, parts.filter(Boolean).join('\n'));
}

function statusNotice(order: OrderRecord): string {
  if (order.status === 'COMPLETED') return '<p class="notice">This order has been paid. There is nothing more to do here.</p>';
  if (order.status !== 'APPROVED' || !order.buyer) return '';
  return `<p class="notice">You approved this payment as ${escapeHtml(order.buyer.email)}. You can approve again to pay another way.</p>`;
}

function itemsTable(request: OrderRequest): string {
  const rows = request.purchase_units.flatMap((unit) => {
    if (!unit.items?.length) return [row(unit.description ?? 'Purchase', '', formatMoney(unit.amount))];
    return unit.items.map((item) => row(item.name, item.quantity, formatMoney(item.unit_amount)));
  });
  return `<table>\n<thead><tr><th>Item</th><th>Qty</th><th class="money">Price</th></tr></thead>\n<tbody>\n${rows.join('\n')}\n</tbody>\n</table>`;
}

function row(name: string, quantity: string, price: string): string {
  return `<tr><td>${escapeHtml(name)}</td><td>${escapeHtml(quantity)}</td><td class="money">${escapeHtml(price)}</td></tr>`;
}

function approvalForms(order: OrderRecord, mount: string, email: string): string {
  const token = `<input type="hidden" name="token" value="${escapeHtml(order.id)}">`;
  return `<form method="post" action="${escapeHtml(mount)}/checkoutnow/approve">
${token}
<label for="email">Buyer email</label>
<input type="email" id="email" name="email" value="${escapeHtml(email)}" required autocomplete="email">
<button type="submit" name="choice" value="approve" class="approve">Approve</button>
<button type="submit" name="choice" value="decline" class="decline">Approve with a card that will be declined</button>
</form>
<form method="post" action="${escapeHtml(mount)}/checkoutnow/cancel">
${token}
<button type="submit" class="cancel">Cancel</button>
</form>`;
}

/** Create-order rules guarantee one currency across purchase units, so the total is a plain sum. */
function orderTotal(request: OrderRequest): Money {
  const currency = request.purchase_units[0].amount.currency_code;
  return fromMinor(
    request.purchase_units.reduce((sum, unit) => sum + (toMinor(unit.amount) ?? 0n), 0n),
    currency,
  );
}

function formatMoney(money: Money): string {
  try {
    return new Intl.NumberFormat('en-GB', { style: 'currency', currency: money.currency_code }).format(Number(money.value));
  } catch {
    return `${money.value} ${money.currency_code}`;
  }
}
