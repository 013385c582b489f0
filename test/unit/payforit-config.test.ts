import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { describeItems } from '../../src/payments/payforit/method.js';
import { productionBase } from '../helpers/production-settings.js';

const SECRET = 's'.repeat(32);

describe('mobile billing configuration', () => {
  it('uses the stand-in when nothing is set, with the scheme maximum defaulting to 1000 pence', () => {
    const config = loadConfig({});
    expect(config.payforit).toBeNull();
    expect(config.payforitMaxPence).toBe(1000);
    // Lines copied empty from .env.example mean "not set".
    expect(
      loadConfig({ PAYFORIT_API_BASE: '', PAYFORIT_MERCHANT_ID: '', PAYFORIT_SECRET: '', PAYFORIT_MAX_PENCE: '' }).payforit,
    ).toBeNull();
  });

  it('reads a complete set, strips a trailing slash, and names a half-given set', () => {
    const config = loadConfig({
      PAYFORIT_API_BASE: 'https://pi.example/',
      PAYFORIT_MERCHANT_ID: 'm1',
      PAYFORIT_SECRET: SECRET,
      PAYFORIT_MAX_PENCE: '1500',
    });
    expect(config.payforit).toEqual({ apiBase: 'https://pi.example', merchantId: 'm1', secret: SECRET, maxPence: 1500 });
    expect(() => loadConfig({ PAYFORIT_MERCHANT_ID: 'm1' })).toThrow(/PAYFORIT_API_BASE[\s\S]*PAYFORIT_SECRET/);
  });

  it('wants a secret of at least 32 bytes and is required in production', () => {
    expect(() => loadConfig({ PAYFORIT_API_BASE: 'https://pi.example', PAYFORIT_MERCHANT_ID: 'm1', PAYFORIT_SECRET: 'short' })).toThrow(
      /PAYFORIT_SECRET/,
    );
    // 11 three-byte characters: 33 bytes though 11 characters.
    expect(
      loadConfig({ PAYFORIT_API_BASE: 'https://pi.example', PAYFORIT_MERCHANT_ID: 'm1', PAYFORIT_SECRET: '€'.repeat(11) }).payforit,
    ).not.toBeNull();
    const live = {
      ...productionBase,
      PAYPAL_CLIENT_ID: 'id',
      PAYPAL_CLIENT_SECRET: 'secret',
      PAYPAL_WEBHOOK_ID: 'WH1',
    };
    expect(() => loadConfig(live)).toThrow(/PAYFORIT_API_BASE, PAYFORIT_MERCHANT_ID, PAYFORIT_SECRET: required in production/);
  });

  it('describes what is bought in at most 60 characters', () => {
    expect(describeItems(['Ana – Night Drive'])).toBe('Ana – Night Drive');
    expect(describeItems(['Ana – Night Drive', 'Bo – Day'])).toBe('Ana – Night Drive and 1 more');
    const long = describeItems([`Somebody – ${'Very long title '.repeat(8)}`, 'x', 'y']);
    expect([...long].length).toBeLessThanOrEqual(60);
    expect(long).toMatch(/… and 2 more$/);
  });
});
