import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalString, computeSignature, signParams, singleValued, verifyParams } from '../../src/payments/payforit/signature.js';

const SECRET = 'unit-test-secret-that-is-32-bytes!!';
const NOW = new Date('2026-05-01T12:00:00Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);

describe('PayForIt signatures', () => {
  it('signs every other parameter sorted by name in byte order, values as sent, not URL-encoded', () => {
    const params = {
      ref: 'NL-AB12',
      return_url: 'https://shop.example/back?x=1&y=2',
      amount_pence: '799',
      description: 'Ünïcode – 2 items',
      Zeta: 'capital sorts first',
      timestamp: '1700000000',
      signature: 'ignored',
    };
    const canonical = canonicalString(params);
    expect(canonical).toBe(
      'Zeta=capital sorts first&amount_pence=799&description=Ünïcode – 2 items&ref=NL-AB12&return_url=https://shop.example/back?x=1&y=2&timestamp=1700000000',
    );
    // The value every implementation must agree on: HMAC-SHA256, lower-case hex.
    expect(computeSignature(params, SECRET)).toBe(crypto.createHmac('sha256', SECRET).update(canonical, 'utf8').digest('hex'));
    expect(computeSignature(params, SECRET)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('sorts by bytes, not by UTF-16 code units or locale', () => {
    // U+FF21 (3 UTF-8 bytes EF BC A1) sorts before U+1F600 (F0 ...) in bytes, and after it in UTF-16 units.
    expect(canonicalString({ '\u{1F600}': '1', '\uFF21': '2', a: '3', B: '4' })).toBe('B=4&a=3&\uFF21=2&\u{1F600}=1');
  });

  it('accepts its own signature within the window and rejects a changed value, a changed name or another secret', () => {
    const signed = signParams({ merchant_id: 'm1', ref: 'NL-1', amount_pence: '500' }, SECRET, NOW);
    expect(signed.timestamp).toBe(String(NOW_S));
    expect(verifyParams(signed, SECRET, NOW)).toEqual({ ok: true });
    expect(verifyParams({ ...signed, amount_pence: '5' }, SECRET, NOW)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyParams({ ...signed, extra: '' }, SECRET, NOW)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyParams(signed, `${SECRET}x`, NOW)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyParams({ ...signed, signature: signed.signature!.toUpperCase() }, SECRET, NOW)).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
    expect(verifyParams({ ...signed, signature: 'abc' }, SECRET, NOW)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('rejects a missing signature and a timestamp more than 300 seconds away, either way', () => {
    const { signature: _s, ...unsigned } = signParams({ ref: 'NL-1' }, SECRET, NOW);
    expect(verifyParams(unsigned, SECRET, NOW)).toEqual({ ok: false, reason: 'missing-signature' });
    const at = (offset: number) => signParams({ ref: 'NL-1', timestamp: String(NOW_S + offset) }, SECRET, NOW);
    expect(verifyParams(at(-300), SECRET, NOW).ok).toBe(true);
    expect(verifyParams(at(300), SECRET, NOW).ok).toBe(true);
    expect(verifyParams(at(-301), SECRET, NOW)).toEqual({ ok: false, reason: 'stale-timestamp' });
    expect(verifyParams(at(301), SECRET, NOW)).toEqual({ ok: false, reason: 'stale-timestamp' });
    const noTimestamp = { ref: 'NL-1' };
    expect(verifyParams({ ...noTimestamp, signature: computeSignature(noTimestamp, SECRET) }, SECRET, NOW)).toEqual({
      ok: false,
      reason: 'missing-timestamp',
    });
    const wordy = { ref: 'NL-1', timestamp: 'soon' };
    expect(verifyParams({ ...wordy, signature: computeSignature(wordy, SECRET) }, SECRET, NOW)).toEqual({
      ok: false,
      reason: 'missing-timestamp',
    });
  });

  it('refuses a message that names a parameter twice, and is not fooled by __proto__', () => {
    expect(singleValued(new URLSearchParams('a=1&b=2'))).toEqual({ a: '1', b: '2' });
    expect(singleValued(new URLSearchParams('a=1&a=2'))).toBeUndefined();
    const odd = singleValued(new URLSearchParams('__proto__=x&ref=1'))!;
    expect(Object.keys(odd)).toEqual(['__proto__', 'ref']);
    expect(canonicalString(odd)).toBe('__proto__=x&ref=1');
  });
});
