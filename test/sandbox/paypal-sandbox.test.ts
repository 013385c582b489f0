import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadPayPalSchemas, startPayPalSandbox, type PayPalSandboxOptions, type SpecName } from '../../sandbox/paypal/index.js';

/**
 * The PayPal stand-in over real HTTP, as the store meets it: every answer is also checked against
 * the response schema PayPal's own document gives for that operation and status.
 */

const ACCOUNT = { clientId: 'store-client-id', clientSecret: 'store-client-secret', webhookId: 'WH4TEST7' };
const START = new Date('2025-03-01T12:00:00Z');
const schemas = loadPayPalSchemas();

type Json = Record<string, any>;

// ---------------------------------------------------------------------------------------------
// A small local "store": receives webhooks and the browser's return from the approval page.

interface Hit {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

async function startReceiver() {
  const hits: Hit[] = [];
  const statuses: number[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      hits.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      res.statusCode = req.method === 'POST' ? (statuses.shift() ?? 200) : 200;
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    hits,
    webhooks: () => hits.filter((h) => h.method === 'POST'),
    /** The receiver's answers to the next webhook deliveries (then 200). */
    answerNext: (...codes: number[]) => statuses.push(...codes),
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Per-test sandbox

let now: Date;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let sandbox: Awaited<ReturnType<typeof startPayPalSandbox>>;

async function start(extra: Partial<PayPalSandboxOptions> = {}) {
  await sandbox?.close();
  sandbox = await startPayPalSandbox({
    ...ACCOUNT,
    webhookUrl: `${receiver.url}/webhooks/paypal`,
    webhookRetryDelaysMs: [20, 20],
    clock: () => now,
    ...extra,
  });
}

beforeEach(async () => {
  now = new Date(START);
  receiver = await startReceiver();
  await start();
});

afterEach(async () => {
  await sandbox.close();
  await receiver.close();
});

// ---------------------------------------------------------------------------------------------
// HTTP helpers

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

async function requestToken(id = ACCOUNT.clientId, secret = ACCOUNT.clientSecret, form = 'grant_type=client_credentials') {
  const res = await fetch(`${sandbox.url}/v1/oauth2/token`, {
    method: 'POST',
    headers: { Authorization: basic(id, secret), 'Content-Type': 'application/x-www-form-urlencoded' },
    body: form,
  });
  return { status: res.status, body: (await res.json()) as Json };
}

async function token(): Promise<string> {
  const { status, body } = await requestToken();
  expect(status).toBe(200);
  return body.access_token;
}

interface CallOptions {
  body?: unknown;
  rawBody?: string;
  token?: string | null;
  headers?: Record<string, string>;
}

async function call(method: string, path: string, options: CallOptions = {}) {
  const bearer = options.token === undefined ? await token() : options.token;
  const headers: Record<string, string> = { ...options.headers };
  if (bearer !== null) headers.Authorization = `Bearer ${bearer}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['Content-Type'] ??= 'application/json';
  const res = await fetch(`${sandbox.url}${path}`, { method, headers, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as Json };
}

/** Asserts the body matches what PayPal's document says that operation answers with that status. */
function expectDocumented(spec: SpecName, method: string, route: string, status: number | 'default', body: unknown) {
  const validate = schemas.response(spec, method, route, status);
  const problems = validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.schemaPath} ${e.message}`);
  expect(problems, JSON.stringify(body)).toEqual([]);
}

const money = (value: string) => ({ currency_code: 'GBP', value });

function orderRequest(): Json {
  return {
    intent: 'CAPTURE',
    purchase_units: [
      {
        reference_id: 'basket-1',
        custom_id: 'order-42',
        invoice_id: 'INV-42',
        description: 'Northern Lights Music',
        amount: { ...money('7.78'), breakdown: { item_total: money('7.78') } },
        items: [
          { name: 'Aurora (MP3)', quantity: '1', unit_amount: money('0.79'), category: 'DIGITAL_GOODS' },
          { name: 'Borealis <album> & "friends"', quantity: '1', unit_amount: money('6.99'), category: 'DIGITAL_GOODS' },
        ],
      },
    ],
    application_context: {
      brand_name: 'Northern Lights <Music>',
      shipping_preference: 'NO_SHIPPING',
      return_url: `${receiver.url}/paypal/return?basket=1`,
      cancel_url: `${receiver.url}/paypal/cancel`,
    },
  };
}

async function createOrder(body: Json = orderRequest(), headers: Record<string, string> = {}) {
  const res = await call('POST', '/v2/checkout/orders', { body, headers });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

const CREATE = ['checkout_orders_v2', 'post', '/v2/checkout/orders'] as const;
const GET_ORDER = ['checkout_orders_v2', 'get', '/v2/checkout/orders/{id}'] as const;
const CAPTURE = ['checkout_orders_v2', 'post', '/v2/checkout/orders/{id}/capture'] as const;
const REFUND = ['payments_payment_v2', 'post', '/v2/payments/captures/{capture_id}/refund'] as const;
const VERIFY = ['notifications_webhooks_v1', 'post', '/v1/notifications/verify-webhook-signature'] as const;

/** Clicks a button on the approval page, without following the redirect. */
async function submitApproval(orderId: string, choice: 'approve' | 'decline' = 'approve', email = 'buyer@example.com') {
  return fetch(`${sandbox.url}/checkoutnow/approve`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: orderId, email, choice }).toString(),
    redirect: 'manual',
  });
}

async function approvedOrder(): Promise<string> {
  const order = await createOrder();
  expect((await submitApproval(order.id)).status).toBe(303);
  return order.id;
}

async function capturedOrder(): Promise<{ orderId: string; captureId: string }> {
  const orderId = await approvedOrder();
  const res = await call('POST', `/v2/checkout/orders/${orderId}/capture`);
  expect(res.status).toBe(201);
  return { orderId, captureId: res.body.purchase_units[0].payments.captures[0].id };
}

function link(body: Json, rel: string): Json | undefined {
  return (body.links as Json[]).find((l) => l.rel === rel);
}

// ---------------------------------------------------------------------------------------------

describe('OAuth 2.0 client credentials', () => {
  it('trades the right client id and secret for a bearer token', async () => {
    const { status, body } = await requestToken();
    expect(status).toBe(200);
    expect(body).toMatchObject({
      token_type: 'Bearer',
      expires_in: 32_400,
      app_id: expect.any(String),
      scope: expect.any(String),
      nonce: expect.any(String),
    });
    expect(body.access_token).toMatch(/^A21AA/);
  });

  it('refuses wrong credentials with invalid_client and a missing grant type with unsupported_grant_type', async () => {
    expect(await requestToken(ACCOUNT.clientId, 'wrong')).toEqual({
      status: 401,
      body: { error: 'invalid_client', error_description: 'Client Authentication failed' },
    });
    expect((await requestToken('someone-else', ACCOUNT.clientSecret)).status).toBe(401);
    const noGrant = await requestToken(ACCOUNT.clientId, ACCOUNT.clientSecret, '');
    expect(noGrant).toEqual({ status: 400, body: { error: 'unsupported_grant_type', error_description: 'Grant Type is NULL' } });
  });

  it('answers every API call without a live token with the documented 401', async () => {
    for (const bearer of [null, 'A21AAnot-a-token-it-issued']) {
      const res = await call('POST', '/v2/checkout/orders', { body: orderRequest(), token: bearer });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ name: 'AUTHENTICATION_FAILURE', debug_id: expect.any(String) });
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
      expectDocumented(...CREATE, 401, res.body);
    }
    expect(sandbox.control.orders()).toHaveLength(0);
  });

  it('lets a token expire after its lifetime by the injected clock', async () => {
    await start({ tokenTtlSeconds: 60 });
    const { body } = await requestToken();
    expect(body.expires_in).toBe(60);
    now = new Date(START.getTime() + 59_000);
    expect((await call('POST', '/v2/checkout/orders', { body: orderRequest(), token: body.access_token })).status).toBe(201);
    now = new Date(START.getTime() + 60_000);
    const expired = await call('POST', '/v2/checkout/orders', { body: orderRequest(), token: body.access_token });
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toContain('not found in cache');
  });
});

describe('create order', () => {
  it('creates a CREATED order with self, approve and capture links (minimal answer by default)', async () => {
    const res = await call('POST', '/v2/checkout/orders', { body: orderRequest() });
    expect(res.status).toBe(201);
    expectDocumented(...CREATE, 201, res.body);
    expect(Object.keys(res.body).sort()).toEqual(['id', 'links', 'status']);
    expect(res.body.status).toBe('CREATED');
    expect(res.body.id).toMatch(/^[A-Z0-9]{17}$/);
    expect(link(res.body, 'self')).toEqual({ href: `${sandbox.url}/v2/checkout/orders/${res.body.id}`, rel: 'self', method: 'GET' });
    expect(link(res.body, 'approve')).toEqual({ href: `${sandbox.url}/checkoutnow?token=${res.body.id}`, rel: 'approve', method: 'GET' });
    expect(link(res.body, 'capture')).toMatchObject({ href: `${sandbox.url}/v2/checkout/orders/${res.body.id}/capture`, method: 'POST' });
  });

  it('returns the whole order for Prefer: return=representation, and on GET, in the documented shape', async () => {
    const created = await call('POST', '/v2/checkout/orders', { body: orderRequest(), headers: { Prefer: 'return=representation' } });
    expectDocumented(...CREATE, 201, created.body);
    expect(created.body.purchase_units[0]).toMatchObject({
      reference_id: 'basket-1',
      custom_id: 'order-42',
      invoice_id: 'INV-42',
      amount: { value: '7.78' },
    });
    const fetched = await call('GET', `/v2/checkout/orders/${created.body.id}`);
    expect(fetched.status).toBe(200);
    expectDocumented(...GET_ORDER, 200, fetched.body);
    expect(fetched.body).toEqual(created.body);
    expect(fetched.body.create_time).toBe('2025-03-01T12:00:00Z');
    expect(fetched.body.payer).toBeUndefined();
  });

  it('uses the approve link of the publicUrl option, as a browser reaches the stand-in', async () => {
    await start({ publicUrl: 'http://shop.example:3000/sandbox/paypal/' });
    const order = await createOrder();
    expect(link(order, 'approve')!.href).toBe(`http://shop.example:3000/sandbox/paypal/checkoutnow?token=${order.id}`);
    expect(link(order, 'self')!.href.startsWith(sandbox.url)).toBe(true);
  });

  it('starts an order made with payment_source.paypal as PAYER_ACTION_REQUIRED with a payer-action link', async () => {
    const { application_context, ...rest } = orderRequest();
    const order = await createOrder({ ...rest, payment_source: { paypal: { experience_context: application_context } } });
    expect(order.status).toBe('PAYER_ACTION_REQUIRED');
    expect(link(order, 'payer-action')!.href).toBe(`${sandbox.url}/checkoutnow?token=${order.id}`);
    expect(link(order, 'approve')).toBeUndefined();
    const location = (await submitApproval(order.id)).headers.get('location')!;
    expect(location.startsWith(`${receiver.url}/paypal/return?`)).toBe(true);
  });

  it('rejects a value of the wrong type: no coercion of 7.78 into "7.78"', async () => {
    const body = orderRequest();
    body.purchase_units[0].amount.value = 7.78;
    const res = await call('POST', '/v2/checkout/orders', { body });
    expect(res.status).toBe(400);
    expectDocumented(...CREATE, 400, res.body);
    expect(res.body).toMatchObject({
      name: 'INVALID_REQUEST',
      message: 'Request is not well-formed, syntactically incorrect, or violates schema.',
    });
    expect(res.body.details).toEqual([
      expect.objectContaining({
        field: '/purchase_units/0/amount/value',
        value: '7.78',
        location: 'body',
        issue: 'INVALID_PARAMETER_SYNTAX',
      }),
    ]);
    expect(sandbox.control.orders()).toHaveLength(0);
  });

  it('names every missing or malformed field at once', async () => {
    const body = orderRequest();
    delete body.purchase_units[0].amount.currency_code;
    body.purchase_units[0].items[0].quantity = 1;
    body.intent = 'BUY';
    const res = await call('POST', '/v2/checkout/orders', { body });
    expect(res.status).toBe(400);
    expectDocumented(...CREATE, 400, res.body);
    const found = (res.body.details as Json[]).map((d) => [d.field, d.issue]);
    expect(found).toEqual(
      expect.arrayContaining([
        ['/purchase_units/0/amount/currency_code', 'MISSING_REQUIRED_PARAMETER'],
        ['/purchase_units/0/items/0/quantity', 'INVALID_PARAMETER_SYNTAX'],
        ['/intent', 'INVALID_PARAMETER_VALUE'],
      ]),
    );
  });

  it("accepts an unknown property, which none of PayPal's schemas forbid, without echoing it", async () => {
    const body = orderRequest();
    body.purchase_units[0].colour = 'blue';
    const order = await createOrder(body, { Prefer: 'return=representation' });
    expect(order.purchase_units[0].colour).toBeUndefined();
  });

  it('answers bad JSON with MALFORMED_REQUEST_JSON and a non-JSON body with 415', async () => {
    const bad = await call('POST', '/v2/checkout/orders', { rawBody: '{"intent": "CAPTURE",' });
    expect(bad.status).toBe(400);
    expect(bad.body.details).toEqual([expect.objectContaining({ issue: 'MALFORMED_REQUEST_JSON' })]);
    const form = await call('POST', '/v2/checkout/orders', {
      rawBody: 'intent=CAPTURE',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(415);
    expect(form.body.name).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('checks amounts add up: AMOUNT_MISMATCH and ITEM_TOTAL_MISMATCH are 422s', async () => {
    const wrongTotal = orderRequest();
    wrongTotal.purchase_units[0].amount.value = '7.79';
    const amount = await call('POST', '/v2/checkout/orders', { body: wrongTotal });
    expect(amount.status).toBe(422);
    expectDocumented(...CREATE, 422, amount.body);
    expect(amount.body).toMatchObject({ name: 'UNPROCESSABLE_ENTITY' });
    expect(amount.body.details).toEqual([
      expect.objectContaining({ issue: 'AMOUNT_MISMATCH', field: "/purchase_units/@reference_id=='basket-1'/amount/value", value: '7.79' }),
    ]);

    const wrongItems = orderRequest();
    wrongItems.purchase_units[0].items[1].unit_amount.value = '5.99';
    const items = await call('POST', '/v2/checkout/orders', { body: wrongItems });
    expect(items.status).toBe(422);
    expect(items.body.details).toEqual([expect.objectContaining({ issue: 'ITEM_TOTAL_MISMATCH' })]);
    expectDocumented(...CREATE, 422, items.body);
  });

  it('applies the other money rules: precision, zero totals, currencies, missing item_total', async () => {
    const cases: Array<[(body: Json) => void, string]> = [
      [(b) => (b.purchase_units[0].amount = money('7.785')), 'DECIMAL_PRECISION'],
      [(b) => (b.purchase_units[0] = { amount: money('0.00') }), 'CANNOT_BE_ZERO_OR_NEGATIVE'],
      [(b) => (b.purchase_units[0] = { amount: { currency_code: 'XYZ', value: '1.00' } }), 'INVALID_CURRENCY_CODE'],
      [(b) => delete b.purchase_units[0].amount.breakdown, 'ITEM_TOTAL_REQUIRED'],
    ];
    for (const [change, issue] of cases) {
      const body = orderRequest();
      change(body);
      const res = await call('POST', '/v2/checkout/orders', { body });
      expect(res.status, issue).toBe(422);
      expect(res.body.details[0].issue).toBe(issue);
    }
  });

  it('honours PayPal-Request-Id: the same id again returns the same order, with 200', async () => {
    const first = await call('POST', '/v2/checkout/orders', {
      body: orderRequest(),
      headers: { 'PayPal-Request-Id': 'basket-1-attempt-1' },
    });
    const again = await call('POST', '/v2/checkout/orders', {
      body: orderRequest(),
      headers: { 'PayPal-Request-Id': 'basket-1-attempt-1' },
    });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expectDocumented(...CREATE, 200, again.body);
    expect(again.body.id).toBe(first.body.id);
    expect(sandbox.control.orders()).toHaveLength(1);
    const other = await call('POST', '/v2/checkout/orders', {
      body: orderRequest(),
      headers: { 'PayPal-Request-Id': 'basket-1-attempt-2' },
    });
    expect(other.body.id).not.toBe(first.body.id);
    expect(sandbox.control.orders()).toHaveLength(2);
  });

  it('answers an unknown or impossible order id with the documented 404', async () => {
    for (const id of ['0000000000000000A', 'not-an-id']) {
      const res = await call('GET', `/v2/checkout/orders/${id}`);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ name: 'RESOURCE_NOT_FOUND', details: [expect.objectContaining({ issue: 'INVALID_RESOURCE_ID' })] });
      expectDocumented(...GET_ORDER, 404, res.body);
    }
  });
});

describe('approval page', () => {
  it('shows the merchant, items and total, escaped, with no script', async () => {
    const order = await createOrder();
    const res = await fetch(`${sandbox.url}/checkoutnow?token=${order.id}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('PayPal <span>(test stand-in)</span>');
    expect(html).toContain('Northern Lights &lt;Music&gt;');
    expect(html).toContain('Borealis &lt;album&gt; &amp; &quot;friends&quot;');
    expect(html).toContain('£7.78');
    expect(html).toContain('value="buyer@example.com"');
    for (const button of ['>Approve<', '>Approve with a card that will be declined<', '>Cancel<']) expect(html).toContain(button);
    expect(html).not.toMatch(/<script/i);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
  });

  it('approves by form post and sends the browser back to return_url with token and PayerID', async () => {
    const order = await createOrder();
    const res = await fetch(`${sandbox.url}/checkoutnow/approve`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: order.id, email: 'listener@example.org', choice: 'approve' }).toString(),
    });
    // fetch followed the 303 to the merchant's return_url, as a browser would.
    expect(res.status).toBe(200);
    const back = receiver.hits.find((h) => h.method === 'GET')!;
    const url = new URL(back.url, receiver.url);
    expect(url.pathname).toBe('/paypal/return');
    expect(url.searchParams.get('basket')).toBe('1');
    expect(url.searchParams.get('token')).toBe(order.id);
    expect(url.searchParams.get('PayerID')).toMatch(/^[2-9A-HJ-NP-Z]{13}$/);

    const approved = await call('GET', `/v2/checkout/orders/${order.id}`);
    expectDocumented(...GET_ORDER, 200, approved.body);
    expect(approved.body.status).toBe('APPROVED');
    expect(approved.body.payer).toEqual({
      name: { given_name: 'Test', surname: 'Buyer' },
      email_address: 'listener@example.org',
      payer_id: url.searchParams.get('PayerID'),
      address: expect.objectContaining({ address_line_1: expect.any(String), postal_code: expect.any(String), country_code: 'GB' }),
    });
    expect(approved.body.purchase_units[0].shipping).toEqual({
      name: { full_name: 'Test Buyer' },
      address: expect.objectContaining({ address_line_1: expect.any(String), admin_area_2: expect.any(String) }),
    });
    expect(link(approved.body, 'approve')).toBeUndefined();
    expect(link(approved.body, 'capture')).toBeDefined();
  });

  it('sends a cancelling buyer to cancel_url and leaves the order waiting', async () => {
    const order = await createOrder();
    const res = await fetch(`${sandbox.url}/checkoutnow/cancel`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `token=${order.id}`,
      redirect: 'manual',
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`${receiver.url}/paypal/cancel?token=${order.id}`);
    expect((await call('GET', `/v2/checkout/orders/${order.id}`)).body.status).toBe('CREATED');
  });

  it('asks again for a bad email and says so for unknown orders', async () => {
    const order = await createOrder();
    const bad = await submitApproval(order.id, 'approve', 'not an email <b>');
    expect(bad.status).toBe(400);
    const html = await bad.text();
    expect(html).toContain('value="not an email &lt;b&gt;"');
    expect(html).toContain('role="alert"');
    expect((await fetch(`${sandbox.url}/checkoutnow?token=NOSUCHORDER`)).status).toBe(404);
  });
});

describe('capture', () => {
  it('captures an approved order: COMPLETED, with the capture and the payer in the answer', async () => {
    const orderId = await approvedOrder();
    const res = await call('POST', `/v2/checkout/orders/${orderId}/capture`);
    expect(res.status).toBe(201);
    expectDocumented(...CAPTURE, 201, res.body);
    expect(res.body.status).toBe('COMPLETED');
    expect(res.body.payer).toMatchObject({
      name: { given_name: 'Test', surname: 'Buyer' },
      email_address: 'buyer@example.com',
      address: expect.any(Object),
    });
    const capture = res.body.purchase_units[0].payments.captures[0];
    expect(capture).toMatchObject({
      id: expect.stringMatching(/^[A-Z0-9]{17}$/),
      status: 'COMPLETED',
      amount: money('7.78'),
      final_capture: true,
      seller_protection: { status: 'ELIGIBLE' },
      custom_id: 'order-42',
      invoice_id: 'INV-42',
      create_time: '2025-03-01T12:00:00Z',
    });
    const breakdown = capture.seller_receivable_breakdown;
    expect(Number(breakdown.net_amount.value) + Number(breakdown.paypal_fee.value)).toBeCloseTo(7.78, 2);

    const full = await call('GET', `/v2/checkout/orders/${orderId}`);
    expectDocumented(...GET_ORDER, 200, full.body);
    expect(full.body.links.map((l: Json) => l.rel)).toEqual(['self']);
    const standalone = await call('GET', `/v2/payments/captures/${capture.id}`);
    expectDocumented('payments_payment_v2', 'get', '/v2/payments/captures/{capture_id}', 200, standalone.body);
    expect(standalone.body.supplementary_data).toEqual({ related_ids: { order_id: orderId } });
  });

  it('refuses an order the buyer has not approved: ORDER_NOT_APPROVED', async () => {
    const order = await createOrder();
    const res = await call('POST', `/v2/checkout/orders/${order.id}/capture`);
    expect(res.status).toBe(422);
    expectDocumented(...CAPTURE, 422, res.body);
    expect(res.body.details).toEqual([expect.objectContaining({ issue: 'ORDER_NOT_APPROVED' })]);
  });

  it('refuses a second capture (ORDER_ALREADY_CAPTURED) but repeats one retried with the same PayPal-Request-Id', async () => {
    const orderId = await approvedOrder();
    const headers = { 'PayPal-Request-Id': `capture-${orderId}` };
    const first = await call('POST', `/v2/checkout/orders/${orderId}/capture`, { headers });
    const retried = await call('POST', `/v2/checkout/orders/${orderId}/capture`, { headers });
    expect(first.status).toBe(201);
    expect(retried.status).toBe(200);
    expectDocumented(...CAPTURE, 200, retried.body);
    expect(retried.body.purchase_units[0].payments.captures).toEqual(first.body.purchase_units[0].payments.captures);

    const other = await call('POST', `/v2/checkout/orders/${orderId}/capture`, { headers: { 'PayPal-Request-Id': 'another' } });
    expect(other.status).toBe(422);
    expect(other.body.details).toEqual([expect.objectContaining({ issue: 'ORDER_ALREADY_CAPTURED' })]);
    expectDocumented(...CAPTURE, 422, other.body);
  });

  it('declines a card the buyer chose to fail; after approving again with another, the capture succeeds', async () => {
    const order = await createOrder();
    expect((await submitApproval(order.id, 'decline')).status).toBe(303);
    const declined = await call('POST', `/v2/checkout/orders/${order.id}/capture`);
    expect(declined.status).toBe(422);
    expectDocumented(...CAPTURE, 422, declined.body);
    expect(declined.body.details).toEqual([expect.objectContaining({ issue: 'INSTRUMENT_DECLINED' })]);
    expect(link(declined.body, 'redirect')).toEqual({
      href: `${sandbox.url}/checkoutnow?token=${order.id}`,
      rel: 'redirect',
      method: 'GET',
    });

    const waiting = await call('GET', `/v2/checkout/orders/${order.id}`);
    expect(waiting.body.status).toBe('CREATED');
    expect(waiting.body.payer).toBeUndefined();
    expect((await call('POST', `/v2/checkout/orders/${order.id}/capture`)).body.details[0].issue).toBe('ORDER_NOT_APPROVED');

    expect((await submitApproval(order.id, 'approve')).status).toBe(303);
    const captured = await call('POST', `/v2/checkout/orders/${order.id}/capture`);
    expect(captured.status).toBe(201);
    expect(captured.body.status).toBe('COMPLETED');
  });

  it('lets control.approve() do what the page does, declined cards included', async () => {
    const order = await createOrder();
    const { redirectUrl, payerId } = sandbox.control.approve(order.id, { email: 'fan@example.com', declined: true });
    expect(redirectUrl).toBe(`${receiver.url}/paypal/return?basket=1&token=${order.id}&PayerID=${payerId}`);
    expect((await call('POST', `/v2/checkout/orders/${order.id}/capture`)).body.details[0].issue).toBe('INSTRUMENT_DECLINED');
    sandbox.control.approve(order.id);
    expect((await call('POST', `/v2/checkout/orders/${order.id}/capture`)).status).toBe(201);
    expect(() => sandbox.control.approve(order.id)).toThrow(/COMPLETED/);
  });
});

describe('refunds', () => {
  it('refunds part, then the rest, and refuses more than was captured', async () => {
    const { orderId, captureId } = await capturedOrder();
    const path = `/v2/payments/captures/${captureId}/refund`;
    const part = await call('POST', path, {
      body: { amount: money('0.79'), note_to_payer: 'One track refunded' },
      headers: { Prefer: 'return=representation' },
    });
    expect(part.status).toBe(201);
    expectDocumented(...REFUND, 201, part.body);
    expect(part.body).toMatchObject({
      status: 'COMPLETED',
      amount: money('0.79'),
      note_to_payer: 'One track refunded',
      invoice_id: 'INV-42',
    });
    expect(link(part.body, 'up')!.href).toBe(`${sandbox.url}/v2/payments/captures/${captureId}`);

    const tooMuch = await call('POST', path, { body: { amount: money('7.00') } });
    expect(tooMuch.status).toBe(422);
    expectDocumented(...REFUND, 422, tooMuch.body);
    expect(tooMuch.body.details).toEqual([expect.objectContaining({ issue: 'REFUND_AMOUNT_EXCEEDED', field: '/amount/value' })]);

    const order = await call('GET', `/v2/checkout/orders/${orderId}`);
    expect(order.body.purchase_units[0].payments.captures[0].status).toBe('PARTIALLY_REFUNDED');

    const rest = await call('POST', path);
    expect(rest.status).toBe(201);
    expect(Object.keys(rest.body).sort()).toEqual(['id', 'links', 'status']);
    const restFull = await call('GET', `/v2/payments/refunds/${rest.body.id}`);
    expect(restFull.body.amount).toEqual(money('6.99'));
    expect(restFull.body.seller_payable_breakdown.total_refunded_amount).toEqual(money('7.78'));
    expectDocumented('payments_payment_v2', 'get', '/v2/payments/refunds/{refund_id}', 200, restFull.body);

    const after = await call('GET', `/v2/checkout/orders/${orderId}`);
    expect(after.body.purchase_units[0].payments.captures[0].status).toBe('REFUNDED');
    expect(after.body.purchase_units[0].payments.refunds).toHaveLength(2);
    const again = await call('POST', path, { body: { amount: money('0.01') } });
    expect(again.body.details[0].issue).toBe('CAPTURE_FULLY_REFUNDED');
  });

  it('validates the refund body and honours PayPal-Request-Id', async () => {
    const { captureId } = await capturedOrder();
    const path = `/v2/payments/captures/${captureId}/refund`;
    const bad = await call('POST', path, { body: { amount: { currency_code: 'GBP', value: 1 } } });
    expect(bad.status).toBe(400);
    expectDocumented(...REFUND, 400, bad.body);
    expect(bad.body.details).toEqual([expect.objectContaining({ field: '/amount/value', issue: 'INVALID_PARAMETER_SYNTAX' })]);

    const headers = { 'PayPal-Request-Id': 'refund-1' };
    const first = await call('POST', path, { body: { amount: money('1.00') }, headers });
    const repeat = await call('POST', path, { body: { amount: money('1.00') }, headers });
    expect(repeat.body.id).toBe(first.body.id);
    const capture = await call('GET', `/v2/payments/captures/${captureId}`);
    expect(capture.body.status).toBe('PARTIALLY_REFUNDED');
    expect((await call('POST', `/v2/payments/captures/NOSUCHCAPTURE/refund`)).status).toBe(404);
  });
});

describe('webhooks', () => {
  async function deliveredEvents() {
    await sandbox.control.webhooksSettled();
    return receiver.webhooks().map((hit) => ({ hit, event: JSON.parse(hit.body) as Json }));
  }

  function verifyBody(hit: Hit, overrides: Json = {}) {
    return {
      auth_algo: hit.headers['paypal-auth-algo'],
      cert_url: hit.headers['paypal-cert-url'],
      transmission_id: hit.headers['paypal-transmission-id'],
      transmission_sig: hit.headers['paypal-transmission-sig'],
      transmission_time: hit.headers['paypal-transmission-time'],
      webhook_id: ACCOUNT.webhookId,
      webhook_event: JSON.parse(hit.body),
      ...overrides,
    };
  }

  async function verify(body: Json) {
    const res = await call('POST', '/v1/notifications/verify-webhook-signature', { body });
    if (res.status === 200) expectDocumented(...VERIFY, 200, res.body);
    return res;
  }

  it("sends PAYMENT.CAPTURE.COMPLETED after a capture, with PayPal's transmission headers", async () => {
    const { orderId, captureId } = await capturedOrder();
    const [{ hit, event }] = await deliveredEvents();
    expect(hit.url).toBe('/webhooks/paypal');
    expect(hit.headers['content-type']).toBe('application/json');
    expect(hit.headers['paypal-auth-algo']).toBe('SHA256withRSA');
    expect(hit.headers['paypal-transmission-time']).toBe('2025-03-01T12:00:00Z');
    for (const name of ['paypal-transmission-id', 'paypal-transmission-sig', 'paypal-cert-url']) expect(hit.headers[name]).toBeTruthy();
    expect(schemas.component('notifications_webhooks_v1', 'event')(event)).toBe(true);
    expect(event).toMatchObject({ event_type: 'PAYMENT.CAPTURE.COMPLETED', resource_type: 'capture', id: expect.stringMatching(/^WH-/) });
    const validCapture = schemas.component('payments_payment_v2', 'capture-2');
    expect(validCapture(event.resource), JSON.stringify(validCapture.errors)).toBe(true);
    expect(event.resource).toMatchObject({
      id: captureId,
      status: 'COMPLETED',
      custom_id: 'order-42',
      invoice_id: 'INV-42',
      supplementary_data: { related_ids: { order_id: orderId } },
    });
    expect(sandbox.control.sentWebhooks()).toEqual([
      expect.objectContaining({ attempt: 1, replay: false, response: { status: 200, body: 'ok' } }),
    ]);
  });

  it('verifies its own deliveries and nothing else', async () => {
    await capturedOrder();
    const [{ hit }] = await deliveredEvents();
    expect((await verify(verifyBody(hit))).body).toEqual({ verification_status: 'SUCCESS' });

    const tampered = JSON.parse(hit.body);
    tampered.resource.amount.value = '0.01';
    expect((await verify(verifyBody(hit, { webhook_event: tampered }))).body.verification_status).toBe('FAILURE');
    expect((await verify(verifyBody(hit, { transmission_id: 'c0ffee00-0000-4000-8000-000000000000' }))).body.verification_status).toBe(
      'FAILURE',
    );
    expect((await verify(verifyBody(hit, { webhook_id: 'WHOTHER1' }))).body.verification_status).toBe('FAILURE');
    expect(
      (await verify(verifyBody(hit, { transmission_sig: `a${hit.headers['paypal-transmission-sig']!.slice(1)}0` }))).body
        .verification_status,
    ).toBe('FAILURE');
  });

  it('answers a verify request that breaks the schema with a 400 VALIDATION_ERROR', async () => {
    await capturedOrder();
    const [{ hit }] = await deliveredEvents();
    const { webhook_id: _unused, ...missing } = verifyBody(hit);
    const res = await verify(missing);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      name: 'VALIDATION_ERROR',
      details: [expect.objectContaining({ field: '/webhook_id', issue: 'MISSING_REQUIRED_PARAMETER' })],
    });
    expectDocumented('notifications_webhooks_v1', 'post', '/v1/notifications/verify-webhook-signature', 'default', res.body);
    expect((await verify(verifyBody(hit, { webhook_id: 'WH-WITH-DASHES' }))).status).toBe(400);
  });

  it('sends PAYMENT.CAPTURE.REFUNDED with the refund, linked up to its capture and order', async () => {
    const { orderId, captureId } = await capturedOrder();
    const refund = await call('POST', `/v2/payments/captures/${captureId}/refund`, { body: { amount: money('0.79') } });
    const events = await deliveredEvents();
    expect(events.map((e) => e.event.event_type)).toEqual(['PAYMENT.CAPTURE.COMPLETED', 'PAYMENT.CAPTURE.REFUNDED']);
    const { event, hit } = events[1];
    expect(event.resource).toMatchObject({
      id: refund.body.id,
      status: 'COMPLETED',
      amount: money('0.79'),
      supplementary_data: { related_ids: { order_id: orderId, capture_id: captureId } },
    });
    expect(link(event.resource, 'up')!.href).toBe(`${sandbox.url}/v2/payments/captures/${captureId}`);
    expect((await verify(verifyBody(hit))).body.verification_status).toBe('SUCCESS');
  });

  it('retries a delivery the receiver refused, as new transmissions of the same event, then gives up', async () => {
    receiver.answerNext(500, 503);
    await capturedOrder();
    const events = await deliveredEvents();
    expect(events).toHaveLength(3);
    expect(new Set(events.map((e) => e.event.id)).size).toBe(1);
    expect(new Set(events.map((e) => e.hit.headers['paypal-transmission-id'])).size).toBe(3);
    expect(sandbox.control.sentWebhooks().map((s) => [s.attempt, s.response?.status])).toEqual([
      [1, 500],
      [2, 503],
      [3, 200],
    ]);

    receiver.answerNext(500, 500, 500, 500);
    await sandbox.control.sendWebhook('PAYMENT.CAPTURE.COMPLETED', events[0].event.resource.supplementary_data.related_ids.order_id);
    // Two retry delays configured: three attempts, then it stops.
    expect(
      sandbox.control
        .sentWebhooks()
        .slice(3)
        .map((s) => s.response?.status),
    ).toEqual([500, 500, 500]);
  });

  it('records a receiver that cannot be reached, and stops there', async () => {
    await start({ webhookUrl: 'http://127.0.0.1:9/webhooks/paypal', webhookRetryDelaysMs: [1] });
    await capturedOrder();
    await sandbox.control.webhooksSettled();
    const sent = sandbox.control.sentWebhooks();
    expect(sent).toHaveLength(2);
    expect(sent[0].error).toMatch(/fetch failed/);
  });

  it('replays the last transmission byte for byte, and it still verifies', async () => {
    await capturedOrder();
    const [first] = await deliveredEvents();
    await sandbox.control.replayLastWebhook();
    const [, replayed] = await deliveredEvents();
    expect(replayed.hit.body).toBe(first.hit.body);
    expect(replayed.hit.headers['paypal-transmission-id']).toBe(first.hit.headers['paypal-transmission-id']);
    expect(sandbox.control.sentWebhooks()[1].replay).toBe(true);
    expect((await verify(verifyBody(replayed.hit))).body.verification_status).toBe('SUCCESS');
  });

  it('produces PAYMENT.CAPTURE.DENIED on demand, failing the capture as PayPal reports it', async () => {
    const { orderId, captureId } = await capturedOrder();
    const sent = await sandbox.control.sendWebhook('PAYMENT.CAPTURE.DENIED', orderId);
    expect(sent.response?.status).toBe(200);
    expect(sent.event).toMatchObject({ event_type: 'PAYMENT.CAPTURE.DENIED', resource: { id: captureId, status: 'DECLINED' } });
    const order = await call('GET', `/v2/checkout/orders/${orderId}`);
    expect(order.body.purchase_units[0].payments.captures[0].status).toBe('DECLINED');
    expect((await call('POST', `/v2/payments/captures/${captureId}/refund`)).body.details[0].issue).toBe('REFUND_NOT_ALLOWED');
  });

  it('holds a capture PENDING when asked, and settles it with PAYMENT.CAPTURE.COMPLETED', async () => {
    const order = await createOrder();
    sandbox.control.approve(order.id, { pendingCapture: true });
    const captured = await call('POST', `/v2/checkout/orders/${order.id}/capture`);
    expect(captured.body.purchase_units[0].payments.captures[0]).toMatchObject({
      status: 'PENDING',
      status_details: { reason: 'PENDING_REVIEW' },
    });
    expect((await deliveredEvents()).map((e) => e.event.event_type)).toEqual(['PAYMENT.CAPTURE.PENDING']);
    const settled = await sandbox.control.sendWebhook('PAYMENT.CAPTURE.COMPLETED', order.id);
    expect(settled.event.resource.status).toBe('COMPLETED');
  });

  it('sends nothing without a webhookUrl', async () => {
    await start({ webhookUrl: undefined });
    const { orderId } = await capturedOrder();
    await sandbox.control.webhooksSettled();
    expect(sandbox.control.sentWebhooks()).toEqual([]);
    await expect(sandbox.control.sendWebhook('PAYMENT.CAPTURE.COMPLETED', orderId)).rejects.toThrow(/no webhookUrl/);
  });

  it("refuses a webhookId that PayPal's own verify schema could never accept", async () => {
    await expect(startPayPalSandbox({ ...ACCOUNT, webhookId: 'WH-TEST' })).rejects.toThrow(/webhook_id pattern/);
  });
});

describe('failNext', () => {
  it("http500: PayPal's INTERNAL_SERVER_ERROR once, and nothing is created", async () => {
    sandbox.control.failNext('create', 'http500');
    const failed = await call('POST', '/v2/checkout/orders', { body: orderRequest() });
    expect(failed.status).toBe(500);
    expect(failed.body).toMatchObject({
      name: 'INTERNAL_SERVER_ERROR',
      message: 'An internal server error occurred.',
      debug_id: expect.any(String),
    });
    expectDocumented(...CAPTURE, 500, failed.body);
    expect(sandbox.control.orders()).toHaveLength(0);
    expect((await call('POST', '/v2/checkout/orders', { body: orderRequest() })).status).toBe(201);
  });

  it("timeout: no answer at all, so the caller's own deadline has to fire", async () => {
    const bearer = await token();
    sandbox.control.failNext('create', 'timeout');
    const attempt = fetch(`${sandbox.url}/v2/checkout/orders`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(orderRequest()),
      signal: AbortSignal.timeout(300),
    });
    await expect(attempt).rejects.toThrow(/aborted|timeout/i);
    expect(sandbox.control.orders()).toHaveLength(0);
  });

  it('reset: the connection is torn down', async () => {
    sandbox.control.failNext('token', 'reset');
    await expect(requestToken()).rejects.toThrow(/fetch failed/);
    expect((await requestToken()).status).toBe(200);
  });

  it('afterProcessing: the capture happens but the answer is lost; a retry with the same PayPal-Request-Id recovers it', async () => {
    const orderId = await approvedOrder();
    const bearer = await token();
    sandbox.control.failNext('capture', 'reset', { afterProcessing: true });
    const headers = { Authorization: `Bearer ${bearer}`, 'PayPal-Request-Id': `capture-${orderId}` };
    await expect(fetch(`${sandbox.url}/v2/checkout/orders/${orderId}/capture`, { method: 'POST', headers })).rejects.toThrow(
      /fetch failed/,
    );
    const retried = await call('POST', `/v2/checkout/orders/${orderId}/capture`, {
      token: bearer,
      headers: { 'PayPal-Request-Id': `capture-${orderId}` },
    });
    expect(retried.status).toBe(200);
    expect(retried.body.status).toBe('COMPLETED');
    expect((sandbox.control.orders()[0] as Json).purchase_units[0].payments.captures).toHaveLength(1);
  });

  it('queues faults per endpoint and covers refund and verify too', async () => {
    const { captureId } = await capturedOrder();
    sandbox.control.failNext('refund', 'http500');
    sandbox.control.failNext('verify', 'http500');
    sandbox.control.failNext('verify', 'http500');
    expect((await call('POST', `/v2/payments/captures/${captureId}/refund`)).status).toBe(500);
    expect((await call('POST', `/v2/payments/captures/${captureId}/refund`)).status).toBe(201);
    const verifyAttempt = () => call('POST', '/v1/notifications/verify-webhook-signature', { body: {} });
    expect((await verifyAttempt()).status).toBe(500);
    expect((await verifyAttempt()).status).toBe(500);
    expect((await verifyAttempt()).status).toBe(400);
  });

  it('closes promptly even with a request left hanging', async () => {
    sandbox.control.failNext('token', 'timeout');
    const hanging = requestToken().catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await sandbox.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await hanging).toBeInstanceOf(Error);
    await start();
  });
});

describe('request log', () => {
  it('keeps what the store sent: method, path, headers and body', async () => {
    const body = orderRequest();
    await createOrder(body, { 'PayPal-Request-Id': 'logged-1' });
    const sent = sandbox.control.requests().filter((r) => r.path === '/v2/checkout/orders');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ method: 'POST', body, headers: expect.objectContaining({ 'paypal-request-id': 'logged-1' }) });
    const tokenCall = sandbox.control.requests().find((r) => r.path === '/v1/oauth2/token')!;
    expect(tokenCall.body).toEqual({ grant_type: 'client_credentials' });
  });
});

describe('mounted inside another app, as the demo serves it', () => {
  it('links to its mount path and runs a whole purchase there', async () => {
    const { createPayPalSandbox } = await import('../../sandbox/paypal/index.js');
    const express = (await import('express')).default;
    const mounted = createPayPalSandbox({ ...ACCOUNT, publicUrl: 'http://shop.example/sandbox/paypal', clock: () => now });
    const host = express();
    host.use('/sandbox/paypal', mounted.app);
    host.use(express.json()); // the store's own parsers come after the mount and must not matter
    const server = http.createServer(host);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sandbox/paypal`;
    try {
      const auth = await fetch(`${base}/v1/oauth2/token`, {
        method: 'POST',
        headers: { Authorization: basic(ACCOUNT.clientId, ACCOUNT.clientSecret), 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      });
      const bearer = ((await auth.json()) as Json).access_token;
      const headers = { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json' };
      const created = (await (
        await fetch(`${base}/v2/checkout/orders`, { method: 'POST', headers, body: JSON.stringify(orderRequest()) })
      ).json()) as Json;
      expect(link(created, 'self')!.href).toBe(`${base}/v2/checkout/orders/${created.id}`);
      expect(link(created, 'approve')!.href).toBe(`http://shop.example/sandbox/paypal/checkoutnow?token=${created.id}`);

      const page = await (await fetch(`${base}/checkoutnow?token=${created.id}`)).text();
      expect(page).toContain('action="/sandbox/paypal/checkoutnow/approve"');
      mounted.control.approve(created.id);
      const captured = await fetch(`${base}/v2/checkout/orders/${created.id}/capture`, { method: 'POST', headers });
      expect(captured.status).toBe(201);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
