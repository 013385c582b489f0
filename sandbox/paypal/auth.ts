/**
 * OAuth 2.0 client credentials, as PayPal does it: the store trades its client id and secret
 * (HTTP Basic) for a bearer token at /v1/oauth2/token, then sends that token on every call.
 */
import crypto from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { PayPalApiError } from './errors.js';
import { accessToken, paypalTime } from './ids.js';
import { readForm, reply } from './http.js';

export const DEFAULT_TOKEN_TTL_SECONDS = 32_400;

/** The scopes a sandbox REST app is granted for payments and webhooks. */
const SCOPE = [
  'https://uri.paypal.com/services/payments/payment/authcapture',
  'https://uri.paypal.com/services/payments/refund',
  'https://uri.paypal.com/services/applications/webhooks',
  'https://uri.paypal.com/services/payments/orders/client_sdk_orders_api',
  'openid',
].join(' ');
const APP_ID = 'APP-80W284485P519543T';

export type TokenState = 'valid' | 'expired' | 'unknown';

export class TokenStore {
  private readonly expiries = new Map<string, number>();

  constructor(
    private readonly ttlSeconds: number,
    private readonly clock: () => Date,
  ) {}

  issue(): { token: string; expiresIn: number } {
    const token = accessToken();
    this.expiries.set(token, this.clock().getTime() + this.ttlSeconds * 1000);
    return { token, expiresIn: this.ttlSeconds };
  }

  check(token: string): TokenState {
    const expiry = this.expiries.get(token);
    if (expiry === undefined) return 'unknown';
    return this.clock().getTime() < expiry ? 'valid' : 'expired';
  }
}

export interface Credentials {
  clientId: string;
  clientSecret: string;
}

/** POST /v1/oauth2/token. Its errors are OAuth's ({error, error_description}), not the REST APIs'. */
export function tokenEndpoint(credentials: Credentials, tokens: TokenStore, clock: () => Date): RequestHandler {
  return (req, res) => {
    if (!hasCredentials(req, credentials)) {
      reply(res, 401, { error: 'invalid_client', error_description: 'Client Authentication failed' });
      return;
    }
    const grantType = readForm(req).get('grant_type');
    if (grantType !== 'client_credentials') {
      const description = grantType ? `Grant Type ${grantType} is not supported` : 'Grant Type is NULL';
      reply(res, 400, { error: 'unsupported_grant_type', error_description: description });
      return;
    }
    const { token, expiresIn } = tokens.issue();
    const nonce = `${paypalTime(clock())}${crypto.randomBytes(24).toString('base64url')}`;
    reply(res, 200, { scope: SCOPE, access_token: token, token_type: 'Bearer', app_id: APP_ID, expires_in: expiresIn, nonce });
  };
}

function hasCredentials(req: Request, expected: Credentials): boolean {
  const match = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!match) return false;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  return safeEqual(decoded.slice(0, colon), expected.clientId) && safeEqual(decoded.slice(colon + 1), expected.clientSecret);
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && crypto.timingSafeEqual(left, right);
}

/**
 * Every REST call needs a live token. The body is the specs' 401 (AUTHENTICATION_FAILURE); why the
 * token was refused goes in WWW-Authenticate, as RFC 6750 has it, so the body stays in shape.
 */
export function requireBearer(tokens: TokenStore): RequestHandler {
  return (req, res, next) => {
    const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const state: TokenState | 'missing' = match ? tokens.check(match[1]) : 'missing';
    if (state === 'valid') return next();
    res.setHeader('WWW-Authenticate', `Bearer error="invalid_token", error_description="${REASONS[state]}"`);
    throw new PayPalApiError(401);
  };
}

const REASONS: Record<Exclude<TokenState, 'valid'> | 'missing', string> = {
  missing: 'No bearer token was sent',
  unknown: 'The token passed in was not found in the system',
  expired: 'Access Token not found in cache',
};
