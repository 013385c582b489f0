import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { privacyPolicySettings } from '../helpers/production-settings.js';

/** The payment, mail and SMS providers production needs. */
const providers = {
  PUBLIC_URL: 'https://music.example',
  PAYPAL_CLIENT_ID: 'id',
  PAYPAL_CLIENT_SECRET: 'secret',
  PAYPAL_WEBHOOK_ID: 'WH-1',
  PAYFORIT_API_BASE: 'https://pi.example',
  PAYFORIT_MERCHANT_ID: 'm1',
  PAYFORIT_SECRET: 's'.repeat(32),
  SMTP_URL: 'smtp://mail.example:587',
  MAIL_FROM: 'orders@music.example',
  TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`,
  TWILIO_AUTH_TOKEN: 't'.repeat(32),
  SMS_FROM: '+447700900000',
};

describe('configuration', () => {
  it('runs with nothing set: SQLite under data/, demo catalogue on, default prices', () => {
    const config = loadConfig({});
    expect(config.database).toEqual({ kind: 'sqlite', file: 'data/store.sqlite' });
    expect(config.demoCatalogue).toBe(true);
    expect(config.prices).toEqual({ trackPence: 79, releasePence: 699 });
    expect(config.port).toBe(3000);
  });

  it('chooses MySQL from a mysql:// DATABASE_URL and SQLite from a path', () => {
    expect(loadConfig({ DATABASE_URL: 'mysql://root@127.0.0.1:3306/store' }).database).toEqual({
      kind: 'mysql',
      url: 'mysql://root@127.0.0.1:3306/store',
    });
    expect(loadConfig({ DATABASE_URL: '/var/lib/store.sqlite' }).database).toEqual({ kind: 'sqlite', file: '/var/lib/store.sqlite' });
  });

  it('names every bad variable at once', () => {
    try {
      loadConfig({ PORT: 'eighty', TRACK_PRICE_PENCE: '-5', DEMO_CATALOGUE: 'maybe' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).toContain('PORT');
      expect(message).toContain('TRACK_PRICE_PENCE');
      expect(message).toContain('DEMO_CATALOGUE');
    }
  });

  it('refuses production on the SQLite default or without a real session secret', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/DATABASE_URL[\s\S]*SESSION_SECRET/);
    expect(() => loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'mysql://db/store', SESSION_SECRET: 'short' })).toThrow(
      /SESSION_SECRET/,
    );
    const live = { ...providers, ...privacyPolicySettings };
    expect(() => loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'mysql://db/store', SESSION_SECRET: 'x'.repeat(40) })).toThrow(
      /PUBLIC_URL[\s\S]*PAYPAL_CLIENT_ID/,
    );
    const ok = loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'mysql://db/store', SESSION_SECRET: 'x'.repeat(40), ...live });
    expect(ok.env).toBe('production');
    expect(ok.paypal).toEqual({ apiBase: 'https://api-m.paypal.com', clientId: 'id', clientSecret: 'secret', webhookId: 'WH-1' });
  });

  it('refuses production until the privacy policy names who runs the store, its information officer and a real address', () => {
    const live = { NODE_ENV: 'production', DATABASE_URL: 'mysql://db/store', SESSION_SECRET: 'x'.repeat(40), ...providers };
    expect(() => loadConfig(live)).toThrow(/COMPANY_NAME[\s\S]*INFO_OFFICER_NAME[\s\S]*CONTACT_EMAIL or INFO_OFFICER_EMAIL/);
    expect(() => loadConfig({ ...live, ...privacyPolicySettings, CONTACT_EMAIL: 'privacy@example.com' })).toThrow(/placeholder/);
    expect(
      loadConfig({ ...live, ...privacyPolicySettings, CONTACT_EMAIL: 'privacy@example.com', INFO_OFFICER_EMAIL: 'dpo@aurora.example' })
        .privacy,
    ).toMatchObject({ infoOfficerEmail: 'dpo@aurora.example' });
    expect(loadConfig({ ...live, ...privacyPolicySettings }).privacy).toEqual({
      companyName: 'Aurora Records Ltd',
      infoOfficerName: 'Ingrid Officer',
      infoOfficerEmail: 'privacy@aurora.example',
      dataHosting: 'on servers in the United Kingdom',
    });
    // Elsewhere nothing is required, and nothing made up stands in.
    expect(loadConfig({}).privacy).toMatchObject({ companyName: null, infoOfficerName: null });
  });

  it('uses the PayPal stand-in only when no PayPal setting is given, and names a half-given set', () => {
    expect(loadConfig({}).paypal).toBeNull();
    expect(() => loadConfig({ PAYPAL_CLIENT_ID: 'id' })).toThrow(/PAYPAL_CLIENT_SECRET[\s\S]*PAYPAL_WEBHOOK_ID/);
  });

  it('reads TRUST_PROXY as a flag, a hop count or an address list', () => {
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: 'loopback' }).trustProxy).toBe('loopback');
    expect(loadConfig({}).trustProxy).toBe(false);
  });
});
