/**
 * Signatures of the mobile-billing protocol (../shared/specs/payforit.md, "Signatures"), shared by
 * the store (merchant side) and the local stand-in (intermediary side) so both sign alike.
 *
 * signature = lower-case hex HMAC-SHA256(secret, canonical string), where the canonical string is
 * every other parameter sorted by name in byte order, as `name=value` joined with `&`, values
 * exactly as sent (decoded, not URL-encoded). A receiver rejects a bad signature (compared in
 * constant time) and a timestamp more than 300 seconds from its own clock.
 */
import crypto from 'node:crypto';

export const SIGNATURE_WINDOW_SECONDS = 300;
const SIGNATURE_PATTERN = /^[0-9a-f]{64}$/;
const TIMESTAMP_PATTERN = /^\d{1,12}$/;

export type SignedParams = Record<string, string>;

export type Verification =
  { ok: true } | { ok: false; reason: 'missing-signature' | 'bad-signature' | 'missing-timestamp' | 'stale-timestamp' };

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The string that is signed: every parameter except `signature`, sorted by name in byte order. */
export function canonicalString(params: SignedParams): string {
  return Object.keys(params)
    .filter((name) => name !== 'signature')
    .sort(byteOrder)
    .map((name) => `${name}=${params[name]}`)
    .join('&');
}

export function computeSignature(params: SignedParams, secret: string): string {
  return crypto.createHmac('sha256', secret).update(canonicalString(params), 'utf8').digest('hex');
}

export function unixSeconds(date: Date): string {
  return String(Math.floor(date.getTime() / 1000));
}

/** The parameters with `timestamp` (now, unless given) and `signature` added. */
export function signParams(params: SignedParams, secret: string, now: Date): SignedParams {
  const { signature: _ignored, ...rest } = params;
  const stamped = { ...rest, timestamp: rest.timestamp ?? unixSeconds(now) };
  return { ...stamped, signature: computeSignature(stamped, secret) };
}

/** Checks the signature (in constant time) and that the timestamp is within the window of `now`. */
export function verifyParams(params: SignedParams, secret: string, now: Date, windowSeconds = SIGNATURE_WINDOW_SECONDS): Verification {
  const given = params.signature;
  if (given === undefined || given === '') return { ok: false, reason: 'missing-signature' };
  const expected = Buffer.from(computeSignature(params, secret), 'utf8');
  // A malformed signature is compared against itself so that the time taken does not depend on it.
  const received = SIGNATURE_PATTERN.test(given) ? Buffer.from(given, 'utf8') : Buffer.alloc(expected.length);
  const matches = crypto.timingSafeEqual(expected, received) && SIGNATURE_PATTERN.test(given);
  if (!matches) return { ok: false, reason: 'bad-signature' };
  const timestamp = params.timestamp;
  if (timestamp === undefined || !TIMESTAMP_PATTERN.test(timestamp)) return { ok: false, reason: 'missing-timestamp' };
  if (Math.abs(Number(timestamp) - Math.floor(now.getTime() / 1000)) > windowSeconds) return { ok: false, reason: 'stale-timestamp' };
  return { ok: true };
}

/**
 * Form or query parameters as a plain object. A name given twice makes the message ambiguous (which
 * value was signed?), so it is refused: the result is undefined.
 */
export function singleValued(search: URLSearchParams): SignedParams | undefined {
  const params: SignedParams = Object.create(null) as SignedParams;
  for (const [name, value] of search) {
    if (Object.hasOwn(params, name)) return undefined;
    params[name] = value;
  }
  return params;
}
