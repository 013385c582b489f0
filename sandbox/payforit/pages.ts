/**
 * The intermediary's own payment page (section 1 of ../shared/specs/payforit.md) as the stand-in
 * serves it: the merchant's name, what is bought, the price and that it goes on the phone bill;
 * the phone is identified by a typed number and a PIN texted to it (shown on the page in test
 * mode); then Confirm or Cancel. Plain HTML forms and one stylesheet of its own: no script, works
 * with JavaScript off, and everything from the request is escaped.
 */
import express, { type Request, type Response } from 'express';
import { isUkMobile, normaliseMsisdn, formatUkMobile } from '../../src/customers/msisdn.js';
import { parsePaymentRequest, type ResultStatus } from '../../src/payments/payforit/messages.js';
import { computeSignature, singleValued, unixSeconds, verifyParams } from '../../src/payments/payforit/signature.js';
import { escapeHtml, sendStandInPage } from '../html-page.js';
import type { SandboxContext } from './context.js';
import { formatPence, PIN_TRIES, resultFields, TEST_NUMBERS, type Transaction } from './transactions.js';

const STYLESHEET = `
body { font-family: system-ui, sans-serif; background: #eef1f5; color: #15171a; margin: 0; padding: 2rem 1rem; }
main { max-width: 30rem; margin: 0 auto; background: #fff; border-radius: 12px; padding: 1.5rem 2rem; box-shadow: 0 2px 8px rgba(0,0,0,.08); }
.brand { font-size: 1.5rem; font-weight: 700; color: #5a2d82; margin: 0; }
.brand span { font-size: 1rem; font-weight: 400; color: #555; }
.banner { background: #fff4d6; border: 1px solid #f0c36d; border-radius: 6px; padding: .5rem .75rem; font-size: .9rem; }
.summary { display: grid; grid-template-columns: auto 1fr; gap: .25rem 1rem; margin: 1rem 0; }
.summary dt { font-weight: 600; }
.summary dd { margin: 0; }
.price { font-size: 1.4rem; font-weight: 700; }
.bill { background: #f3ecfa; border-radius: 6px; padding: .5rem .75rem; }
.error { background: #fde8e8; border-radius: 6px; padding: .5rem .75rem; color: #8a1f11; }
.test-text { background: #e8f6ec; border: 1px dashed #3a8a55; border-radius: 6px; padding: .5rem .75rem; font-size: .95rem; }
.pin { font-family: ui-monospace, monospace; font-size: 1.2rem; letter-spacing: .15em; }
label { display: block; margin: 1rem 0 .25rem; font-weight: 600; }
input[type=tel], input[type=text] { width: 100%; box-sizing: border-box; padding: .5rem; font-size: 1.1rem; border: 1px solid #999; border-radius: 6px; }
button { display: block; width: 100%; margin-top: .75rem; padding: .75rem; font-size: 1rem; border-radius: 24px; border: 0; cursor: pointer; }
.confirm { background: #5a2d82; color: #fff; font-weight: 700; }
.cancel { background: #fff; border: 1px solid #999; color: #333; }
.note { font-size: .85rem; color: #555; }
a { color: #5a2d82; }
`;

export function paymentPageRoutes(ctx: SandboxContext): express.Router {
  const router = express.Router();
  const name = ctx.options.merchantName;

  router.get('/pay.css', (_req, res) => {
    res.type('css').set('Cache-Control', 'public, max-age=3600').send(STYLESHEET);
  });

  // Section 1: a payment request. A bad one gets an error page and never a charge.
  router.get('/pay', (req, res) => {
    const params = singleValued(new URL(req.originalUrl, 'http://stand-in.invalid').searchParams);
    if (!params) return sendPage(ctx, req, res, 400, errorPage(req, 'A parameter of this payment request is repeated.'));
    if (params.merchant_id !== ctx.options.merchantId)
      return sendPage(ctx, req, res, 400, errorPage(req, 'This payment request names a merchant we do not know.'));
    const verified = verifyParams(params, ctx.options.secret, ctx.clock());
    if (!verified.ok)
      return sendPage(ctx, req, res, 400, errorPage(req, `This payment request could not be verified (${verified.reason}).`));
    const parsed = parsePaymentRequest(params);
    if (!parsed.ok) return sendPage(ctx, req, res, 400, errorPage(req, `This payment request is not valid: ${parsed.problem}.`));
    if (parsed.value.amountPence > ctx.maxPence) {
      return sendPage(
        ctx,
        req,
        res,
        400,
        errorPage(
          req,
          `Payments by mobile are limited to ${formatPence(ctx.maxPence)}; this one is for ${formatPence(parsed.value.amountPence)}.`,
        ),
      );
    }
    if (!ctx.returnOrigins.includes(parsed.value.returnUrl.origin)) {
      return sendPage(ctx, req, res, 400, errorPage(req, 'This payment request would send you back to a site that is not the merchant’s.'));
    }
    const transaction = ctx.book.open(parsed.value);
    res.redirect(303, `${req.baseUrl}/pay/${transaction.id}`);
  });

  router.get('/pay/:id', (req, res) => {
    const transaction = ctx.book.find(req.params.id);
    if (!transaction) return sendPage(ctx, req, res, 404, errorPage(req, 'We could not find this payment.'));
    sendPage(ctx, req, res, 200, paymentPage(ctx, req, transaction));
  });

  router.post('/pay/:id/number', (req, res) => {
    const transaction = openTransaction(ctx, req, res);
    if (!transaction) return;
    const typed = form(req).get('msisdn') ?? '';
    const msisdn = normaliseMsisdn(typed);
    if (!msisdn || !isUkMobile(msisdn)) {
      return sendPage(
        ctx,
        req,
        res,
        400,
        paymentPage(ctx, req, transaction, { typed, error: 'Enter a UK mobile number, such as 07700 900123.' }),
      );
    }
    ctx.book.sendPin(transaction, msisdn, name);
    res.redirect(303, `${req.baseUrl}/pay/${transaction.id}`);
  });

  router.post('/pay/:id/confirm', (req, res) => {
    const transaction = openTransaction(ctx, req, res);
    if (!transaction) return;
    if (transaction.state !== 'pin-sent' || !transaction.msisdn) {
      return sendPage(
        ctx,
        req,
        res,
        400,
        paymentPage(ctx, req, transaction, { error: 'Enter your mobile number first: we text you a PIN to confirm with.' }),
      );
    }
    const pin = (form(req).get('pin') ?? '').replace(/\s/g, '');
    if (pin !== transaction.pin) {
      transaction.pinTries++;
      if (transaction.pinTries < PIN_TRIES) {
        return sendPage(
          ctx,
          req,
          res,
          400,
          paymentPage(ctx, req, transaction, {
            error: `That PIN is not the one we texted. ${PIN_TRIES - transaction.pinTries} tries left.`,
          }),
        );
      }
      return finish(ctx, req, res, transaction, 'failed');
    }
    finish(ctx, req, res, transaction, ctx.book.outcomeOnConfirm(transaction.msisdn));
  });

  router.post('/pay/:id/cancel', (req, res) => {
    const transaction = openTransaction(ctx, req, res);
    if (!transaction) return;
    finish(ctx, req, res, transaction, 'cancelled');
  });
  return router;
}

/** The transaction named in the path, if it is still waiting for the shopper. */
function openTransaction(ctx: SandboxContext, req: Request, res: Response): Transaction | undefined {
  const transaction = ctx.book.find(String(req.params.id));
  if (!transaction) {
    sendPage(ctx, req, res, 404, errorPage(req, 'We could not find this payment.'));
    return undefined;
  }
  if (transaction.state !== 'open' && transaction.state !== 'pin-sent') {
    sendPage(ctx, req, res, 409, paymentPage(ctx, req, transaction));
    return undefined;
  }
  return transaction;
}

/** Ends the transaction: the result goes to the merchant's callback, the browser back to the merchant. */
export function finish(
  ctx: SandboxContext,
  req: Request | undefined,
  res: Response | undefined,
  transaction: Transaction,
  status: ResultStatus,
): string {
  ctx.book.finish(transaction, status, ctx.options.merchantName);
  void ctx.notifier.send(resultFields(transaction)!);
  const back = signedReturnUrl(ctx, transaction);
  if (res && req) res.redirect(303, back);
  return back;
}

/** Section 3: return_url with ref, transaction_id, status, timestamp and signature added to its query. */
export function signedReturnUrl(ctx: SandboxContext, transaction: Transaction): string {
  const url = new URL(transaction.request.returnUrl);
  url.searchParams.delete('signature');
  url.searchParams.set('ref', transaction.request.ref);
  url.searchParams.set('transaction_id', transaction.id);
  url.searchParams.set('status', transaction.state);
  url.searchParams.set('timestamp', unixSeconds(ctx.clock()));
  url.searchParams.set('signature', computeSignature(Object.fromEntries(url.searchParams), ctx.options.secret));
  return url.toString();
}

function form(req: Request): URLSearchParams {
  return new URLSearchParams(typeof req.body === 'string' ? req.body : '');
}

function sendPage(ctx: SandboxContext, _req: Request, res: Response, status: number, html: string): void {
  // Forms post here, then redirect to the merchant: form-action must allow both.
  const formTargets = ["'self'", ...ctx.returnOrigins].join(' ');
  const csp = `default-src 'none'; style-src 'self'; img-src data:; form-action ${formTargets}; base-uri 'none'; frame-ancestors 'none'`;
  sendStandInPage(res, status, html, csp);
}

// ---------------------------------------------------------------------------------------------
// HTML

function layout(req: Request, title: string, content: string): string {
  return `<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · PayForIt (test stand-in)</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${escapeHtml(req.baseUrl)}/pay.css">
</head>
<body>
<main>
<p class="brand">PayForIt <span>(test stand-in)</span></p>
<p class="banner">Test mode: no real money moves and no texts are really sent. This page stands in for the mobile payment service.</p>
${content}
</main>
</body>
</html>
`;
}

function errorPage(req: Request, message: string): string {
  return layout(
    req,
    'Payment not possible',
    `<h1>Payment not possible</h1>\n<p class="error" role="alert">${escapeHtml(message)}</p>\n<p>Nothing has been charged. Please go back to the shop and try again.</p>`,
  );
}

const OUTCOME_TEXT: Record<ResultStatus, string> = {
  charged: 'Paid: the charge has been added to your phone bill, and we have texted you a receipt.',
  declined: 'Your mobile network declined this payment, so nothing was charged.',
  cancelled: 'You cancelled this payment, so nothing was charged.',
  failed: 'This payment could not be completed, so nothing was charged.',
};

function paymentPage(ctx: SandboxContext, req: Request, transaction: Transaction, form: { typed?: string; error?: string } = {}): string {
  const { request } = transaction;
  const merchant = ctx.options.merchantName;
  const action = (step: string) => `${escapeHtml(req.baseUrl)}/pay/${escapeHtml(transaction.id)}/${step}`;
  const parts = [
    `<h1>Pay ${escapeHtml(merchant)}</h1>`,
    `<dl class="summary"><dt>Merchant</dt><dd>${escapeHtml(merchant)}</dd><dt>For</dt><dd>${escapeHtml(request.description)}</dd><dt>Price</dt><dd class="price">${escapeHtml(formatPence(request.amountPence))}</dd></dl>`,
    `<p class="bill">${escapeHtml(formatPence(request.amountPence))} will be added to your phone bill, or taken from your pay-as-you-go credit.</p>`,
    form.error ? `<p class="error" role="alert">${escapeHtml(form.error)}</p>` : '',
  ];
  const cancel = `<form method="post" action="${action('cancel')}"><button type="submit" class="cancel">Cancel</button></form>`;
  if (transaction.state === 'open') {
    const examples = Object.entries(TEST_NUMBERS)
      .map(([msisdn, outcome]) => `${formatUkMobile(msisdn)} is ${outcome}`)
      .join(', ');
    parts.push(
      `<form method="post" action="${action('number')}">
<label for="msisdn">Your mobile number</label>
<input type="tel" id="msisdn" name="msisdn" value="${escapeHtml(form.typed ?? '')}" required autocomplete="tel" inputmode="tel" placeholder="07700 900123">
<p class="note">We will text you a PIN to confirm that the phone is yours.</p>
<button type="submit" class="confirm">Text me a PIN</button>
</form>
${cancel}
<p class="note">Test numbers: ${escapeHtml(examples)}; any other UK mobile number is charged.</p>`,
    );
  } else if (transaction.state === 'pin-sent') {
    const text = ctx.book
      .sentTexts()
      .filter((t) => t.kind === 'pin' && t.to === transaction.msisdn)
      .at(-1);
    parts.push(
      `<p class="test-text" role="note">Test mode: the text sent to ${escapeHtml(formatUkMobile(transaction.msisdn!))} says: <q>${escapeHtml(text?.body ?? '')}</q> Your PIN is <strong class="pin" id="test-pin">${escapeHtml(transaction.pin!)}</strong>.</p>
<form method="post" action="${action('confirm')}">
<label for="pin">PIN from the text we sent to ${escapeHtml(formatUkMobile(transaction.msisdn!))}</label>
<input type="text" id="pin" name="pin" required autocomplete="one-time-code" inputmode="numeric" pattern="[0-9 ]{6,8}" maxlength="8">
<button type="submit" class="confirm">Confirm: pay ${escapeHtml(formatPence(request.amountPence))}</button>
</form>
${cancel}`,
    );
  } else {
    parts.push(
      `<p role="status">${escapeHtml(OUTCOME_TEXT[transaction.state])}</p>`,
      `<p><a href="${escapeHtml(signedReturnUrl(ctx, transaction))}">Back to ${escapeHtml(merchant)}</a></p>`,
    );
  }
  return layout(req, `Pay ${merchant}`, parts.filter(Boolean).join('\n'));
}
