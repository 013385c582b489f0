import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { productionBase } from '../helpers/production-settings.js';

const SID = `AC${'a1'.repeat(16)}`;
const TWILIO = { TWILIO_ACCOUNT_SID: SID, TWILIO_AUTH_TOKEN: 'token-'.repeat(4), SMS_FROM: '+447700900000' };

describe('messages configuration', () => {
  it('uses the local mail folder and the SMS stand-in when nothing is set', () => {
    const config = loadConfig({ DATA_DIR: 'somewhere' });
    expect(config.mail).toEqual({
      smtpUrl: null,
      from: 'Northern Lights Music <orders@localhost>',
      folder: path.join('somewhere', 'mail'),
    });
    expect(config.twilio).toBeNull();
    expect(config.outboxPollMs).toBe(1000);
    // Lines copied empty from .env.example mean "not set".
    const blank = loadConfig({
      SMTP_URL: '',
      MAIL_FROM: '',
      TWILIO_API_BASE: '',
      TWILIO_ACCOUNT_SID: '',
      TWILIO_AUTH_TOKEN: '',
      SMS_FROM: '',
      OUTBOX_POLL_MS: '',
    });
    expect(blank.mail.smtpUrl).toBeNull();
    expect(blank.twilio).toBeNull();
  });

  it('reads SMTP with its From, and wants MAIL_FROM with SMTP_URL', () => {
    const config = loadConfig({
      SMTP_URL: 'smtps://user:pass@mail.example:465',
      MAIL_FROM: 'Northern Lights <orders@music.example>',
      OUTBOX_POLL_MS: '250',
    });
    expect(config.mail).toMatchObject({ smtpUrl: 'smtps://user:pass@mail.example:465', from: 'Northern Lights <orders@music.example>' });
    expect(config.outboxPollMs).toBe(250);
    expect(() => loadConfig({ SMTP_URL: 'smtp://mail.example' })).toThrow(/MAIL_FROM: required with SMTP_URL/);
    expect(() => loadConfig({ SMTP_URL: 'http://mail.example', MAIL_FROM: 'a@b.example' })).toThrow(/SMTP_URL/);
    expect(() => loadConfig({ SMTP_URL: 'smtp://mail.example', MAIL_FROM: 'not an address' })).toThrow(/MAIL_FROM/);
  });

  it('reads a complete Twilio set, defaults the API base, and names a half-given set', () => {
    expect(loadConfig(TWILIO).twilio).toEqual({
      apiBase: 'https://api.twilio.com',
      accountSid: SID,
      authToken: TWILIO.TWILIO_AUTH_TOKEN,
      from: '+447700900000',
    });
    expect(loadConfig({ ...TWILIO, TWILIO_API_BASE: 'http://127.0.0.1:4010/', SMS_FROM: 'NLMusic' }).twilio).toMatchObject({
      apiBase: 'http://127.0.0.1:4010',
      from: 'NLMusic',
    });
    expect(() => loadConfig({ TWILIO_ACCOUNT_SID: SID })).toThrow(/TWILIO_AUTH_TOKEN[\s\S]*SMS_FROM/);
    expect(() => loadConfig({ ...TWILIO, TWILIO_ACCOUNT_SID: 'AC123' })).toThrow(/TWILIO_ACCOUNT_SID/);
    expect(() => loadConfig({ ...TWILIO, SMS_FROM: '07700 900000' })).toThrow(/SMS_FROM/);
  });

  it('requires real SMTP and Twilio settings in production', () => {
    expect(() => loadConfig(productionBase)).toThrow(
      /SMTP_URL: required in production[\s\S]*TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, SMS_FROM: required in production/,
    );
  });
});
