import { describe, expect, it } from 'vitest';
import { formatUkMobile, isUkMobile, normaliseMsisdn } from '../../src/customers/msisdn.js';

describe('mobile numbers in international form', () => {
  it.each([
    ['07700 900123'],
    ['07700900123'],
    ['+44 7700 900123'],
    ['+447700900123'],
    ['+44 (0)7700 900123'],
    ['0044 7700 900123'],
    ['447700900123'],
    [' 07700-900-123 '],
    ['(07700) 900.123'],
    ['+44 07700 900123'],
  ])('reads %j as 447700900123', (typed) => {
    expect(normaliseMsisdn(typed)).toBe('447700900123');
  });

  it('keeps other countries international, and refuses what cannot be a number', () => {
    expect(normaliseMsisdn('+353 85 123 4567')).toBe('353851234567');
    expect(normaliseMsisdn('00353851234567')).toBe('353851234567');
    for (const bad of [
      '',
      '   ',
      'seven',
      '07700 90012x',
      '+0 7700 900123',
      '123',
      '+44 7700 900123 ext 4',
      '1'.repeat(16),
      '07700\n900123; drop table',
    ]) {
      expect(normaliseMsisdn(bad), bad).toBeNull();
    }
  });

  it('knows a UK mobile and writes it as people read it', () => {
    expect(isUkMobile('447700900123')).toBe(true);
    expect(isUkMobile('442079460000')).toBe(false);
    expect(isUkMobile('353851234567')).toBe(false);
    expect(formatUkMobile('447700900123')).toBe('07700 900123');
    expect(formatUkMobile('353851234567')).toBe('+353851234567');
  });
});

describe('a stored number as a person writes it', () => {
  it('groups it the way its country does, with the +, never as bare digits', async () => {
    const { formatMsisdn } = await import('../../src/customers/msisdn.js');
    const { contactText } = await import('../../src/customers/contact.js');
    expect(formatMsisdn('447700900123')).toBe('+44 7700 900123');
    expect(formatMsisdn('353851234567')).toBe('+353 85 123 4567');
    expect(contactText({ msisdn: '447700900123' })).toBe('+44 7700 900123');
    expect(contactText({ email: 'a@example.com' })).toBe('a@example.com');
  });
});
