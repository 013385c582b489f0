import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMS_WEBHOOK_PATH, twilioSignature } from '../../src/privacy/sms-stop.js';
import { databaseKinds } from '../helpers/databases.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

const AUTH_TOKEN = 'test-twilio-auth-token-0123456789';

describe.each(databaseKinds())('STOP by text on $kind', ({ kind, skip }) => {
  let store: TestStore;
  let customerId: number;

  beforeAll(async () => {
    if (skip) return;
    store = await startTestStore(kind, {
      stock: false,
      env: { TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`, TWILIO_AUTH_TOKEN: AUTH_TOKEN, SMS_FROM: '+447700900000' },
    });
    const now = '2026-11-20 12:00:00';
    const result = await store.database.db
      .insertInto('customers')
      .values({ email: null, msisdn: '447700900123', marketing_opt_in: 1, marketing_choice_at: now, created_at: now, updated_at: now })
      .executeTakeFirstOrThrow();
    customerId = Number(result.insertId);
  });
  afterAll(async () => store?.close());

  const optIn = async () =>
    (await store.database.db.selectFrom('customers').select('marketing_opt_in').where('id', '=', customerId).executeTakeFirstOrThrow())
      .marketing_opt_in;
  const inbound = (params: Record<string, string>, signature: string) =>
    fetch(`${store.baseUrl}${SMS_WEBHOOK_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
      body: new URLSearchParams(params).toString(),
    });

  it.skipIf(skip)('ignores a STOP with a bad or missing signature', async () => {
    const params = { MessageSid: `SM${'1'.repeat(32)}`, From: '+447700900123', To: '+447700900000', Body: 'STOP' };
    expect((await inbound(params, 'bm90IGEgc2lnbmF0dXJl')).status).toBe(403);
    expect((await inbound(params, twilioSignature('some-other-token-0000', `${store.baseUrl}${SMS_WEBHOOK_PATH}`, params))).status).toBe(
      403,
    );
    expect(
      (
        await inbound(
          { ...params, Body: 'STOP' },
          twilioSignature(AUTH_TOKEN, `${store.baseUrl}${SMS_WEBHOOK_PATH}`, { ...params, Body: 'HELLO' }),
        )
      ).status,
    ).toBe(403);
    expect(await optIn()).toBe(1);
  });

  it.skipIf(skip)('opts the number out on a signed STOP, and a signed other text changes nothing', async () => {
    const url = `${store.baseUrl}${SMS_WEBHOOK_PATH}`;
    const hello = { MessageSid: `SM${'2'.repeat(32)}`, From: '+447700900123', To: '+447700900000', Body: 'hello' };
    expect((await inbound(hello, twilioSignature(AUTH_TOKEN, url, hello))).status).toBe(200);
    expect(await optIn()).toBe(1);
    const stop = { MessageSid: `SM${'3'.repeat(32)}`, From: '+447700900123', To: '+447700900000', Body: ' Stop ' };
    const answer = await inbound(stop, twilioSignature(AUTH_TOKEN, url, stop));
    expect(answer.status).toBe(200);
    expect(await answer.text()).toContain('<Response></Response>');
    expect(await optIn()).toBe(0);
  });
});
