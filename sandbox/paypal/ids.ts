import crypto from 'node:crypto';

/**
 * Identifiers in PayPal's own formats, so a store that checks or stores them (column widths,
 * patterns in the specs) meets the real thing's shapes.
 */

const UPPER_ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** The alphabet of PayPal account ids (`account_id`: ^[2-9A-HJ-NP-Z]{13}$): no 0, 1, I or O. */
const ACCOUNT_ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ';

function randomFrom(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[crypto.randomInt(alphabet.length)];
  return out;
}

/** Orders, captures and refunds: 17 upper-case letters and digits, e.g. 5O190127TN364715T. */
export function resourceId(): string {
  return randomFrom(UPPER_ALNUM, 17);
}

/** A payer's account id is stable per buyer at PayPal, so it is derived from the buyer's email. */
export function payerIdFor(email: string): string {
  const digest = crypto.createHash('sha256').update(email.trim().toLowerCase()).digest();
  return Array.from(digest.subarray(0, 13), (byte) => ACCOUNT_ALPHABET[byte % ACCOUNT_ALPHABET.length]).join('');
}

export function debugId(): string {
  return crypto.randomBytes(7).toString('hex').slice(0, 13);
}

/** Webhook event ids look like WH-58D329510W468432D-8HN650336L201105X. */
export function webhookEventId(): string {
  return `WH-${resourceId()}-${resourceId()}`;
}

export function accessToken(): string {
  return `A21AA${crypto.randomBytes(48).toString('base64url')}`;
}

/** PayPal's timestamps carry no fractional seconds: 2024-05-01T12:00:00Z. */
export function paypalTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
