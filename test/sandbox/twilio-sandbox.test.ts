import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SendError } from '../../src/notifications/senders.js';
import { createTwilioSmsSender } from '../../src/notifications/sms.js';
import {
  createTwilioSandbox,
  loadTwilioSchemas,
  newStandInAccount,
  segments,
  startTwilioSandbox,
  type RunningTwilioSandbox,
} from '../../sandbox/twilio/index.js';

const account = newStandInAccount();
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const AUTH = basic(account.accountSid, account.authToken);
const GOOD = { To: '+447700900123', From: '+447700900000', Body: 'Your code is 123456' };

describe('Twilio Messages stand-in', () => {
  let sandbox: RunningTwilioSandbox;
  const schemas = loadTwilioSchemas();
  const messagesUrl = (sid = account.accountSid) => `${sandbox.url}/2010-04-01/Accounts/${sid}/Messages.json`;
  const post = async (
    form: Record<string, string> | URLSearchParams | string,
    options: { auth?: string | null; type?: string; sid?: string } = {},
  ) => {
    const headers: Record<string, string> = { 'content-type': options.type ?? 'application/x-www-form-urlencoded' };
    if (options.auth !== null) headers.authorization = options.auth ?? AUTH;
    const body = typeof form === 'string' ? form : new URLSearchParams(form as Record<string, string>).toString();
    const response = await fetch(messagesUrl(options.sid), { method: 'POST', headers, body });
    return { status: response.status, headers: response.headers, json: (await response.json()) as Record<string, unknown> };
  };
  /** Twilio's error body: exactly these four fields, more_info pointing at the code's page. */
  const expectTwilioError = (json: Record<string, unknown>, status: number, code: number) => {
    expect(Object.keys(json).sort()).toEqual(['code', 'message', 'more_info', 'status']);
    expect(json).toMatchObject({ status, code, more_info: `https://www.twilio.com/docs/errors/${code}` });
    expect(typeof json.message).toBe('string');
  };

  beforeAll(async () => {
    sandbox = await startTwilioSandbox(account);
  });
  afterAll(async () => sandbox?.close());
  afterEach(() => sandbox.control.reset());

  it('creates a message: 201 with the documented message resource, kept for the test to see', async () => {
    const { status, headers, json } = await post(GOOD);
    expect(status).toBe(201);
    expect(headers.get('content-type')).toMatch(/^application\/json/);
    expect(schemas.messageResource(json)).toBe(true);
    expect(json).toMatchObject({
      account_sid: account.accountSid,
      to: GOOD.To,
      from: GOOD.From,
      body: GOOD.Body,
      status: 'queued',
      direction: 'outbound-api',
      num_segments: '1',
      num_media: '0',
      api_version: '2010-04-01',
    });
    expect(json.sid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(json.uri).toBe(`/2010-04-01/Accounts/${account.accountSid}/Messages/${json.sid}.json`);
    expect(json.date_created).toMatch(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);

    expect(sandbox.control.messages()).toEqual([expect.objectContaining({ sid: json.sid, to: GOOD.To, from: GOOD.From, body: GOOD.Body })]);
    const fetched = await fetch(`${sandbox.url}${json.uri}`, { headers: { authorization: AUTH } });
    expect(fetched.status).toBe(200);
    const resource = await fetched.json();
    expect(schemas.messageResource(resource)).toBe(true);
    expect(resource).toMatchObject({ sid: json.sid, status: 'delivered' });
  });

  it('accepts the typed parameters the document declares, from their form spelling', async () => {
    const form = new URLSearchParams({
      ...GOOD,
      From: 'NLMusic',
      ValidityPeriod: '600',
      ProvideFeedback: 'true',
      StatusCallback: 'https://store.example/sms-status',
    });
    form.append('MediaUrl', 'https://store.example/a.png');
    form.append('MediaUrl', 'https://store.example/b.png');
    const { status, json } = await post(form.toString());
    expect(status).toBe(201);
    expect(json.num_media).toBe('2');
    expect(sandbox.control.messages()[0]!.params).toMatchObject({
      ValidityPeriod: 600,
      ProvideFeedback: true,
      MediaUrl: ['https://store.example/a.png', 'https://store.example/b.png'],
    });
  });

  it.each([
    ['no To', { From: GOOD.From, Body: 'x' }, 21604],
    ['an empty To', { ...GOOD, To: '' }, 21604],
    ['a To that is not E.164', { ...GOOD, To: '07700 900123' }, 21211],
    ['a To that is a sender ID', { ...GOOD, To: 'NLMusic' }, 21211],
    ['a From that is no sender', { ...GOOD, From: 'not a valid sender!' }, 21212],
    ['no From and no MessagingServiceSid', { To: GOOD.To, Body: 'x' }, 21603],
    ['no Body, MediaUrl or ContentSid', { To: GOOD.To, From: GOOD.From }, 21602],
    ['a Body over 1,600 characters', { ...GOOD, Body: 'x'.repeat(1601) }, 21617],
    ['an integer parameter that is not one', { ...GOOD, ValidityPeriod: 'soon' }, 20001],
    ['a boolean parameter that is not one', { ...GOOD, SmartEncoded: 'yes' }, 20001],
    ['a number parameter that is not one', { ...GOOD, MaxPrice: 'cheap' }, 20001],
    ['a value outside an enum', { ...GOOD, ContentRetention: 'forever' }, 20001],
    ['a SID of the wrong shape', { ...GOOD, MessagingServiceSid: 'MG123' }, 20001],
    ['a URI that is not one', { ...GOOD, StatusCallback: 'not a uri' }, 20001],
  ])("refuses %s with 400 in Twilio's error shape, keeping nothing", async (_what, form, code) => {
    const { status, json } = await post(form as Record<string, string>);
    expect(status).toBe(400);
    expectTwilioError(json, 400, code);
    expect(sandbox.control.messages()).toHaveLength(0);
  });

  it('names the offending parameter, never its value', async () => {
    const { json } = await post({ ...GOOD, ValidityPeriod: 'soon-ish' });
    expect(json.message).toContain('ValidityPeriod');
    expect(json.message).not.toContain('soon-ish');
  });

  it('refuses a parameter given twice, and a JSON body (Twilio reads forms only)', async () => {
    const twice = await post(`To=${encodeURIComponent(GOOD.To)}&To=%2B447700900124&From=${encodeURIComponent(GOOD.From)}&Body=x`);
    expect(twice.status).toBe(400);
    expectTwilioError(twice.json, 400, 21211);
    const json = await post(JSON.stringify(GOOD), { type: 'application/json' });
    expect(json.status).toBe(400);
    expectTwilioError(json.json, 400, 21604);
  });

  it('wants HTTP Basic with the account SID and auth token of the account in the path', async () => {
    const none = await post(GOOD, { auth: null });
    expect(none.status).toBe(401);
    expectTwilioError(none.json, 401, 20003);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic/);
    expect((await post(GOOD, { auth: basic(account.accountSid, 'wrong-token') })).status).toBe(401);
    expect((await post(GOOD, { auth: `Bearer ${account.authToken}` })).status).toBe(401);
    const other = newStandInAccount();
    expect((await post(GOOD, { sid: other.accountSid })).status).toBe(401);
    expect((await post(GOOD, { auth: basic(other.accountSid, account.authToken), sid: other.accountSid })).status).toBe(401);
    const malformed = await post(GOOD, { sid: 'AC123' });
    expect(malformed.status).toBe(404);
    expectTwilioError(malformed.json, 404, 20404);
    expect(sandbox.control.messages()).toHaveLength(0);
  });

  it("answers 404 in Twilio's shape for an unknown message or route", async () => {
    const missing = await fetch(`${sandbox.url}/2010-04-01/Accounts/${account.accountSid}/Messages/SM${'0'.repeat(32)}.json`, {
      headers: { authorization: AUTH },
    });
    expect(missing.status).toBe(404);
    expectTwilioError(await missing.json(), 404, 20404);
    const route = await fetch(`${sandbox.url}/2010-04-01/Accounts/${account.accountSid}/Calls.json`, { headers: { authorization: AUTH } });
    expect(route.status).toBe(404);
  });

  it('fails on request: failNext(http500) answers 500 once; failNext(timeout) never answers; reset() clears', async () => {
    sandbox.control.failNext('http500');
    const failed = await post(GOOD);
    expect(failed.status).toBe(500);
    expectTwilioError(failed.json, 500, 20500);
    expect((await post(GOOD)).status).toBe(201);

    sandbox.control.failNext('timeout');
    await expect(
      fetch(messagesUrl(), {
        method: 'POST',
        headers: { authorization: AUTH, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(GOOD).toString(),
        signal: AbortSignal.timeout(300),
      }),
    ).rejects.toThrow();
    expect(sandbox.control.messages()).toHaveLength(1);
    expect(sandbox.control.requests().map((r) => r.status)).toEqual([500, 201, 0]);

    sandbox.control.failNext('http500', 2);
    sandbox.control.reset();
    expect(sandbox.control.messages()).toHaveLength(0);
    expect((await post(GOOD)).status).toBe(201);
  });

  it('serves the same API when mounted under a path beside the store (/sandbox/sms)', async () => {
    const mounted = createTwilioSandbox(account);
    const app = express();
    app.use('/sandbox/sms', mounted.app);
    const server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sandbox/sms`;
      const sender = createTwilioSmsSender({ apiBase: base, ...account, from: 'NLMusic' });
      await sender.send({ outboxId: 1, to: '+447700900123', text: 'Hello from the demo' });
      expect(mounted.control.messages()).toEqual([
        expect.objectContaining({ to: '+447700900123', from: 'NLMusic', body: 'Hello from the demo' }),
      ]);
    } finally {
      mounted.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('counts segments as Twilio bills them: GSM-7 160/153, UCS-2 70/67', () => {
    expect(segments('x'.repeat(160))).toBe(1);
    expect(segments('x'.repeat(161))).toBe(2);
    expect(segments('x'.repeat(306))).toBe(2);
    expect(segments('x'.repeat(307))).toBe(3);
    expect(segments('ü€{}[]'.repeat(10))).toBe(1);
    expect(segments('✓'.repeat(70))).toBe(1);
    expect(segments('✓'.repeat(71))).toBe(2);
  });
});

describe('Twilio SMS sender', () => {
  let sandbox: RunningTwilioSandbox;
  let odd: http.Server;
  const oddStatus = 429;
  let oddUrl = '';
  beforeAll(async () => {
    sandbox = await startTwilioSandbox(account);
    // A gateway that answers whatever status the test sets, in Twilio's error shape.
    odd = http.createServer((_req, res) =>
      res
        .writeHead(oddStatus, { 'content-type': 'application/json' })
        .end(JSON.stringify({ code: 20429, message: 'Too Many Requests +447700900123', status: oddStatus })),
    );
    await new Promise<void>((resolve) => odd.listen(0, '127.0.0.1', resolve));
    oddUrl = `http://127.0.0.1:${(odd.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await sandbox?.close();
    odd?.closeAllConnections();
    await new Promise<void>((resolve) => odd?.close(() => resolve()));
  });

  const failure = async (send: Promise<void>) => {
    const error = await send.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SendError);
    return error as SendError;
  };

  it('sends To, From and Body form-encoded with Basic auth, and resolves on 201', async () => {
    const sender = createTwilioSmsSender({ apiBase: `${sandbox.url}/`, ...account, from: '+447700900000' });
    await sender.send({ outboxId: 7, to: '+447700900123', text: 'Line one\nLine two & more' });
    expect(sandbox.control.messages()[0]).toMatchObject({ to: '+447700900123', from: '+447700900000', body: 'Line one\nLine two & more' });
  });

  it('treats 4xx as permanent, 429, 5xx, timeouts and refused connections as worth retrying; never quotes the number', async () => {
    const refused = await failure(
      createTwilioSmsSender({ apiBase: sandbox.url, ...account, from: '+447700900000' }).send({
        outboxId: 1,
        to: '07700 900123',
        text: 'x',
      }),
    );
    expect(refused).toMatchObject({ permanent: true, message: 'Twilio HTTP 400 error 21211' });

    const odd429 = await failure(
      createTwilioSmsSender({ apiBase: oddUrl, ...account, from: '+447700900000' }).send({ outboxId: 1, to: '+447700900123', text: 'x' }),
    );
    expect(odd429).toMatchObject({ permanent: false, message: 'Twilio HTTP 429 error 20429' });
    expect(odd429.message).not.toContain('+447700900123');

    sandbox.control.failNext('http500');
    expect(
      await failure(
        createTwilioSmsSender({ apiBase: sandbox.url, ...account, from: '+447700900000' }).send({
          outboxId: 1,
          to: '+447700900123',
          text: 'x',
        }),
      ),
    ).toMatchObject({ permanent: false });

    sandbox.control.failNext('timeout');
    const slow = await failure(
      createTwilioSmsSender({ apiBase: sandbox.url, ...account, from: '+447700900000', timeoutMs: 200 }).send({
        outboxId: 1,
        to: '+447700900123',
        text: 'x',
      }),
    );
    expect(slow).toMatchObject({ permanent: false, message: 'Twilio: no answer within 200 ms' });

    const closed = await failure(
      createTwilioSmsSender({ apiBase: 'http://127.0.0.1:1', ...account, from: '+447700900000' }).send({
        outboxId: 1,
        to: '+447700900123',
        text: 'x',
      }),
    );
    expect(closed.permanent).toBe(false);
    sandbox.control.reset();
  });
});
