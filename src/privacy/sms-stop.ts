/**
 * STOP by text: Twilio's inbound-message webhook (form-encoded From, Body, ...) for the store's
 * number. The request proves itself with X-Twilio-Signature: base64 HMAC-SHA1, keyed with the
 * account's auth token, of the full URL Twilio called followed by every POST parameter's name and
 * value, sorted by name. A bad or missing signature changes nothing.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import express, { Router } from 'express';
import type { Db } from '../db/database.js';
import { setMarketingChoice } from './marketing.js';

export const SMS_WEBHOOK_PATH = '/webhooks/twilio/sms';
/** The opt-out keywords carriers and Twilio recognise. */
const STOP_WORDS = new Set(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT']);

export function twilioSignature(authToken: string, url: string, params: Record<string, string>): string {
  const data =
    url +
    Object.keys(params)
      .sort()
      .map((k) => k + params[k])
      .join('');
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

export function smsStopRoute({
  db,
  authToken,
  publicUrl,
  clock,
}: {
  db: Db;
  authToken: string;
  publicUrl: string;
  clock: () => Date;
}): Router {
  const router = Router();
  router.post(SMS_WEBHOOK_PATH, express.urlencoded({ extended: false, limit: '10kb' }), async (req, res) => {
    const params = Object.fromEntries(
      Object.entries((req.body ?? {}) as Record<string, unknown>).filter(([, v]) => typeof v === 'string'),
    ) as Record<string, string>;
    const given = Buffer.from(req.get('x-twilio-signature') ?? '');
    const expected = Buffer.from(twilioSignature(authToken, publicUrl + req.originalUrl, params));
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return res.status(403).type('text/plain').send('bad signature');
    const from = (params.From ?? '').replace(/^\+/, '');
    const word = (params.Body ?? '').trim().toUpperCase();
    if (/^[1-9]\d{6,14}$/.test(from) && STOP_WORDS.has(word)) {
      const customer = await db.selectFrom('customers').select('id').where('msisdn', '=', from).executeTakeFirst();
      if (customer) await setMarketingChoice(db, customer.id, false, clock());
    }
    // Empty TwiML: Twilio itself confirms a STOP to the sender.
    res.type('text/xml').send('<?xml version="1.0" encoding="UTF-8"?><Response></Response>');
  });
  return router;
}
