import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse } from 'node-html-parser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signParams, verifyParams } from '../../src/payments/payforit/signature.js';
import { RETRY_SCHEDULE_MS, startPayForItSandbox, type RunningPayForItSandbox } from '../../sandbox/payforit/index.js';

/**
 * The PayForIt stand-in over real HTTP, against a small local "merchant" that answers
 * notifications as each test tells it to.
 */

const ACCOUNT = { merchantId: 'merchant-1', secret: 'sandbox-test-secret-0123456789abcdef', merchantName: 'Tiny <Shop> & Co' };
/** The documented schedule at half a thousandth: 5 ms, 30 ms, 150 ms, 900 ms, 3.6 s. */
const SCALE = 0.0005;

async function startMerchant() {
  const bodies: string[] = [];
  const answers: { status: number; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      bodies.push(body);
      const answer = answers.shift() ?? { status: 200, body: 'OK' };
      res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    bodies,
    answers,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

describe('the PayForIt stand-in', () => {
  let merchant: Awaited<ReturnType<typeof startMerchant>>;
  let sandbox: RunningPayForItSandbox;

  beforeEach(async () => {
    merchant = await startMerchant();
    sandbox = await startPayForItSandbox({
      ...ACCOUNT,
      callbackUrl: `${merchant.url}/notifications/payforit`,
      returnOrigins: [merchant.url],
      retryScale: SCALE,
    });
  });
  afterEach(async () => {
    await sandbox.close();
    await merchant.close();
  });

  const request = (fields: Record<string, string> = {}, secret = ACCOUNT.secret) =>
    `${sandbox.url}/pay?${new URLSearchParams(signParams({ merchant_id: ACCOUNT.merchantId, ref: 'NL-ABCD-EFGH-JKMN', amount_pence: '450', currency: 'GBP', description: 'Two <b>tracks</b> & "more"', return_url: `${merchant.url}/back?keep=1`, ...fields }, secret, new Date()))}`;
  /** Opens a request and confirms it by typed number and PIN; returns the transaction id and the return URL. */
  const pay = async (fields: Record<string, string> = {}) => {
    const opened = await fetch(request(fields), { redirect: 'manual' });
    const page = new URL(opened.headers.get('location')!, sandbox.url).toString();
    await fetch(`${page}/number`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'msisdn=07700+900123',
    });
    const pin = parse(await (await fetch(page)).text()).querySelector('#test-pin')!.text;
    const confirmed = await fetch(`${page}/confirm`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `pin=${pin}`,
    });
    return { transactionId: page.split('/pay/')[1]!, returnUrl: confirmed.headers.get('location')! };
  };

  it('resends an unanswered notification on the documented schedule (10 s, 1 min, 5 min, 30 min, 2 h), then gives up', async () => {
    expect(RETRY_SCHEDULE_MS).toEqual([10_000, 60_000, 300_000, 1_800_000, 7_200_000]);
    expect(sandbox.control.retryDelaysMs()).toEqual(RETRY_SCHEDULE_MS.map((ms) => ms * SCALE));
    // 500s, a 200 that is not OK, a timeout-free refusal: nothing but "200 OK" counts as answered.
    merchant.answers.push(
      { status: 500, body: 'OK' },
      { status: 200, body: 'accepted' },
      { status: 503, body: '' },
      { status: 404, body: 'OK' },
      { status: 200, body: 'ok' },
      { status: 500, body: '' },
    );
    const { transactionId } = await pay();
    await sandbox.control.notificationsSettled();
    const sent = sandbox.control.sentNotifications(transactionId);
    expect(sent.map((n) => n.attempt)).toEqual([1, 2, 3, 4, 5, 6]);
    sent.slice(1).forEach((n, i) => expect(n.waitedMs).toBeGreaterThanOrEqual(RETRY_SCHEDULE_MS[i]! * SCALE - 2));
    expect(merchant.bodies).toHaveLength(6);
    // Each attempt is freshly signed over the same fields.
    for (const body of merchant.bodies) {
      const params = Object.fromEntries(new URLSearchParams(body));
      expect(verifyParams(params, ACCOUNT.secret, new Date())).toEqual({ ok: true });
      expect(params).toMatchObject({
        merchant_id: ACCOUNT.merchantId,
        ref: 'NL-ABCD-EFGH-JKMN',
        amount_pence: '450',
        currency: 'GBP',
        transaction_id: transactionId,
        status: 'charged',
        msisdn: '447700900123',
      });
      expect(['EE', 'O2', 'Vodafone', 'Three', 'other']).toContain(params.network);
    }
  });

  it('stops resending once answered 200 OK', async () => {
    merchant.answers.push({ status: 500, body: '' }, { status: 500, body: '' });
    const { transactionId } = await pay();
    await sandbox.control.notificationsSettled();
    expect(sandbox.control.sentNotifications(transactionId).map((n) => n.response?.status)).toEqual([500, 500, 200]);
  });

  it('can hold, delay and replay notifications for a test', async () => {
    sandbox.control.delayNotifications(80);
    const first = await pay();
    await sandbox.control.notificationsSettled();
    expect(sandbox.control.sentNotifications(first.transactionId)[0]!.waitedMs).toBeGreaterThanOrEqual(78);
    sandbox.control.delayNotifications(0);

    sandbox.control.holdNotifications();
    const held = await pay();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sandbox.control.sentNotifications(held.transactionId)).toEqual([]);
    sandbox.control.releaseNotifications();
    await sandbox.control.notificationsSettled();
    expect(sandbox.control.sentNotifications(held.transactionId)).toHaveLength(1);

    const replay = await sandbox.control.replayNotification(first.transactionId);
    expect(replay.body).toBe(sandbox.control.sentNotifications(first.transactionId)[0]!.body);
    expect(merchant.bodies.at(-1)).toBe(replay.body);
  });

  it('sends the browser back to return_url with a signed result added to its own query', async () => {
    const { transactionId, returnUrl } = await pay();
    const back = new URL(returnUrl);
    expect(`${back.origin}${back.pathname}`).toBe(`${merchant.url}/back`);
    const params = Object.fromEntries(back.searchParams);
    expect(params).toMatchObject({ keep: '1', ref: 'NL-ABCD-EFGH-JKMN', transaction_id: transactionId, status: 'charged' });
    expect(verifyParams(params, ACCOUNT.secret, new Date())).toEqual({ ok: true });
    expect(sandbox.control.sentTexts('447700900123').map((t) => t.kind)).toEqual(['pin', 'receipt']);
  });

  it('shows the merchant, the item and the price, escaped, under a CSP with no script and no inline style', async () => {
    const opened = await fetch(request(), { redirect: 'manual' });
    const page = await fetch(new URL(opened.headers.get('location')!, sandbox.url));
    const html = await page.text();
    expect(html).toContain('Tiny &lt;Shop&gt; &amp; Co');
    expect(html).toContain('Two &lt;b&gt;tracks&lt;/b&gt; &amp; &quot;more&quot;');
    expect(html).toContain('£4.50');
    expect(html).toContain('phone bill');
    expect(html).not.toMatch(/<script|style=|<style/i);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect((await fetch(`${sandbox.url}/pay.css`)).headers.get('content-type')).toContain('text/css');
  });

  it('answers a bad payment request with an error page and opens no transaction', async () => {
    const bad = [
      request({}, 'a-different-secret-that-is-long-enough!'),
      request({ merchant_id: 'nobody' }),
      request({ amount_pence: '1001' }),
      request({ amount_pence: '0' }),
      request({ amount_pence: '4.50' }),
      request({ currency: 'EUR' }),
      request({ description: 'x'.repeat(61) }),
      request({ description: '' }),
      request({ ref: 'has spaces' }),
      request({ return_url: 'https://elsewhere.example/back' }),
      request({ timestamp: String(Math.floor(Date.now() / 1000) - 301) }),
      `${request()}&ref=again`,
    ];
    for (const url of bad) {
      const response = await fetch(url, { redirect: 'manual' });
      expect(response.status, url).toBe(400);
      expect(await response.text()).toContain('Nothing has been charged');
    }
    expect(sandbox.control.transactions()).toEqual([]);
    expect((await fetch(request({ description: 'é'.repeat(60) }), { redirect: 'manual' })).status).toBe(303);
  });

  it('answers status queries and refunds only to the signed merchant, with signed JSON', async () => {
    const query = (id: string, secret = ACCOUNT.secret) =>
      fetch(
        `${sandbox.url}/transactions/${id}?${new URLSearchParams(signParams({ merchant_id: ACCOUNT.merchantId }, secret, new Date()))}`,
      );
    const opened = await fetch(request(), { redirect: 'manual' });
    const openId = opened.headers.get('location')!.split('/pay/')[1]!;
    expect((await query(openId)).status).toBe(404);
    const { transactionId } = await pay();
    expect((await query(transactionId, 'a-different-secret-that-is-long-enough!')).status).toBe(401);
    const answer = (await (await query(transactionId)).json()) as Record<string, string>;
    expect(verifyParams(answer, ACCOUNT.secret, new Date())).toEqual({ ok: true });
    expect(answer).toMatchObject({ transaction_id: transactionId, status: 'charged', amount_pence: '450' });

    const refund = (id: string, amount: string) =>
      fetch(`${sandbox.url}/refunds`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(
          signParams({ merchant_id: ACCOUNT.merchantId, transaction_id: id, amount_pence: amount }, ACCOUNT.secret, new Date()),
        ),
      });
    expect((await refund('pfi_unknown', '450')).status).toBe(404);
    expect((await refund(transactionId, '451')).status).toBe(400);
    const done = await refund(transactionId, '450');
    expect(done.status).toBe(200);
    const body = (await done.json()) as Record<string, string>;
    expect(body.status).toBe('refunded');
    expect(verifyParams(body, ACCOUNT.secret, new Date())).toEqual({ ok: true });
    expect((await refund(transactionId, '450')).status).toBe(409);
  });
});
