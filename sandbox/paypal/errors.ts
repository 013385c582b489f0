import { debugId } from './ids.js';
import type { Link } from './types.js';

/** One entry of an error's `details`, as the specs' `error_details` schema describes it. */
export interface ErrorDetail {
  issue: string;
  description: string;
  field?: string;
  value?: string;
  location?: 'body' | 'path' | 'query' | 'header';
}

/** The fixed `name` and `message` the specs give each error status (error_400, error_401, ...). */
const STANDARD_ERRORS: Record<number, { name: string; message: string }> = {
  400: { name: 'INVALID_REQUEST', message: 'Request is not well-formed, syntactically incorrect, or violates schema.' },
  401: {
    name: 'AUTHENTICATION_FAILURE',
    message: 'Authentication failed due to missing authorization header, or invalid authentication credentials.',
  },
  404: { name: 'RESOURCE_NOT_FOUND', message: 'The specified resource does not exist.' },
  415: { name: 'UNSUPPORTED_MEDIA_TYPE', message: "The server does not support the request payload's media type." },
  422: {
    name: 'UNPROCESSABLE_ENTITY',
    message: 'The requested action could not be performed, semantically incorrect, or failed business validation.',
  },
  500: { name: 'INTERNAL_SERVER_ERROR', message: 'An internal server error occurred.' },
};

/**
 * The v1 APIs (notifications) predate the v2 error vocabulary: a bad body there is a
 * VALIDATION_ERROR, which the webhooks document's generic `error` schema allows.
 */
const V1_VALIDATION_ERROR = { name: 'VALIDATION_ERROR', message: 'Invalid request - see details' };

/** A PayPal API error: thrown anywhere in a handler, turned into PayPal's JSON by the router. */
export class PayPalApiError extends Error {
  readonly links: Link[] = [];

  constructor(
    readonly status: number,
    readonly details: ErrorDetail[] = [],
    readonly style: 'v2' | 'v1' = 'v2',
  ) {
    super(`${status} ${details.map((d) => d.issue).join(', ')}`);
  }

  body(): Record<string, unknown> {
    const { name, message } = this.style === 'v1' && this.status === 400 ? V1_VALIDATION_ERROR : standardError(this.status);
    const links = [...this.links, ...this.details.slice(0, 1).map((d) => informationLink(d.issue))];
    const body: Record<string, unknown> = { name, message, debug_id: debugId() };
    // error_500 has no `details`; every client error carries them, even when empty.
    if (this.status < 500) body.details = this.details;
    body.links = links;
    return body;
  }
}

function standardError(status: number) {
  return STANDARD_ERRORS[status] ?? STANDARD_ERRORS[500];
}

/** PayPal points each issue at its documentation; the link is inert here but keeps the shape. */
function informationLink(issue: string): Link {
  return { href: `https://developer.paypal.com/api/rest/reference/errors/#${issue}`, rel: 'information_link', method: 'GET' };
}

export function unprocessable(issue: string, description: string, field?: string, value?: string): PayPalApiError {
  const detail: ErrorDetail = { issue, description };
  if (field !== undefined) Object.assign(detail, { field, location: 'body' });
  if (value !== undefined) detail.value = value;
  return new PayPalApiError(422, [detail]);
}

export function notFound(field: string, value: string): PayPalApiError {
  return new PayPalApiError(404, [
    {
      issue: 'INVALID_RESOURCE_ID',
      description: 'Specified resource ID does not exist. Please check the resource ID and try again.',
      field,
      value,
      location: 'path',
    },
  ]);
}

export function malformedJson(): PayPalApiError {
  return new PayPalApiError(400, [
    { issue: 'MALFORMED_REQUEST_JSON', description: 'The request JSON is not well formed.', location: 'body' },
  ]);
}
