import { describe, expect, it } from 'vitest';
import { backoffDelayMs, DEFAULT_BACKOFF } from '../../src/notifications/backoff.js';
import { classifySmtpError, messageIdFor } from '../../src/notifications/email.js';
import { maskRecipient, safeErrorText } from '../../src/notifications/outbox.js';

describe('outbox back-off', () => {
  const exact = { baseMs: 1000, maxMs: 60_000, jitter: 0 };

  it('doubles from the base after each failed attempt, up to the ceiling', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelayMs(n, exact))).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
    expect(backoffDelayMs(10_000, exact)).toBe(60_000); // 2 ** 9999 is Infinity; the ceiling holds
    expect(backoffDelayMs(0, exact)).toBe(1000);
  });

  it('draws the jittered share at random: between half and all of the wait at jitter 0.5', () => {
    const policy = { ...exact, jitter: 0.5 };
    expect(backoffDelayMs(3, policy, () => 0)).toBe(2000);
    expect(backoffDelayMs(3, policy, () => 0.999999)).toBe(4000);
    expect(backoffDelayMs(3, policy, () => 0.5)).toBe(3000);
    const draws = Array.from({ length: 200 }, () => backoffDelayMs(4, policy));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(4000);
    expect(Math.max(...draws)).toBeLessThanOrEqual(8000);
    expect(new Set(draws).size).toBeGreaterThan(20); // spread out, not one value
    // Full jitter can be anything up to the exponential value; never past the ceiling.
    expect(backoffDelayMs(20, { ...exact, jitter: 1 }, () => 0.999999)).toBeLessThanOrEqual(60_000);
  });

  it('keeps trying for hours by default, and refuses a nonsensical policy', () => {
    const total = Array.from({ length: 11 }, (_, i) => backoffDelayMs(i + 1, { ...DEFAULT_BACKOFF, jitter: 0 })).reduce((a, b) => a + b, 0);
    expect(total / 3_600_000).toBeGreaterThan(5);
    expect(() => backoffDelayMs(1, { baseMs: 10, maxMs: 5, jitter: 0 })).toThrow(RangeError);
    expect(() => backoffDelayMs(1, { baseMs: 10, maxMs: 50, jitter: 2 })).toThrow(RangeError);
  });
});

describe('what the outbox lets into logs', () => {
  it('masks a recipient that a log must mention', () => {
    expect(maskRecipient('fan@example.com')).toBe('f***@e***.com');
    expect(maskRecipient('+447700900123')).toBe('+44********23');
    expect(maskRecipient('+447700900123')).not.toContain('7700900');
  });

  it('masks addresses and numbers in provider errors and cuts them to the column', () => {
    const text = safeErrorText(new Error('550 5.1.1 <someone.real@example.org>: Recipient address rejected; also +44 7700 900123'));
    expect(text).not.toContain('someone.real');
    expect(text).not.toContain('7700 900123');
    expect(text).toContain('550 5.1.1');
    // Addresses of servers stay readable: they are what an operator needs.
    expect(safeErrorText(new Error('connect ECONNREFUSED 127.0.0.1:2525'))).toBe('connect ECONNREFUSED 127.0.0.1:2525');
    expect(safeErrorText(new Error('x'.repeat(400)))).toHaveLength(255);
  });
});

describe('email details', () => {
  it('gives every attempt at one outbox row the same Message-ID, and different rows different ones', () => {
    const message = { outboxId: 12, to: 'a@example.com', subject: 'S', text: 'T', html: null };
    const id = messageIdFor(message, 'Store <orders@store.example>');
    expect(id).toMatch(/^<outbox-12\.[0-9a-f]{20}@store\.example>$/);
    expect(messageIdFor({ ...message }, 'Store <orders@store.example>')).toBe(id);
    expect(messageIdFor({ ...message, to: 'b@example.com' }, 'Store <orders@store.example>')).not.toBe(id);
  });

  it('retries SMTP failures unless the server refused the recipient or the message for good', () => {
    expect(
      classifySmtpError(Object.assign(new Error('Recipient command failed'), { code: 'EENVELOPE', command: 'RCPT TO', responseCode: 550 }))
        .permanent,
    ).toBe(true);
    expect(
      classifySmtpError(Object.assign(new Error('Recipient command failed'), { code: 'EENVELOPE', command: 'RCPT TO', responseCode: 450 }))
        .permanent,
    ).toBe(false);
    expect(classifySmtpError(Object.assign(new Error('Message too large'), { code: 'EMESSAGE' })).permanent).toBe(true);
    expect(classifySmtpError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ESOCKET', command: 'CONN' })).permanent).toBe(false);
    expect(
      classifySmtpError(Object.assign(new Error('Invalid login'), { code: 'EAUTH', command: 'AUTH PLAIN', responseCode: 535 })).permanent,
    ).toBe(false);
    expect(
      classifySmtpError(Object.assign(new Error('Sender rejected'), { code: 'EENVELOPE', command: 'MAIL FROM', responseCode: 553 }))
        .permanent,
    ).toBe(false);
  });
});
