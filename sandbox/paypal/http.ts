/**
 * Small HTTP helpers shared by the stand-in's routes. Bodies arrive as raw bytes (so the request
 * log keeps exactly what was sent and bad JSON gets PayPal's error rather than Express's).
 */
import type { Request, Response } from 'express';
import { malformedJson, PayPalApiError } from './errors.js';
import type { Bases } from './resources.js';

export function rawBody(req: Request): string {
  return Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
}

/** The JSON body; an empty body counts as `{}` (PayPal accepts a bodiless capture or refund). */
export function readJson(req: Request): unknown {
  const text = rawBody(req);
  if (text.trim() === '') return {};
  if (!req.is('application/json')) {
    throw new PayPalApiError(415, [
      {
        issue: 'UNSUPPORTED_MEDIA_TYPE',
        description: 'The request must have Content-Type: application/json.',
        location: 'header',
        field: 'Content-Type',
      },
    ]);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw malformedJson();
  }
}

export function readForm(req: Request): URLSearchParams {
  return new URLSearchParams(rawBody(req));
}

/** What the request log keeps as the body: parsed when it can be, the raw text otherwise. */
export function loggableBody(req: Request): unknown {
  const text = rawBody(req);
  if (text === '') return undefined;
  if (req.is('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(text));
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Every JSON answer goes through here, so a fault armed to strike after the work is done
 * (failNext(..., { afterProcessing: true })) can swallow the answer at the last moment.
 */
export function reply(res: Response, status: number, body: unknown): void {
  const strike = res.locals.strikeInsteadOfReplying as (() => void) | undefined;
  if (strike) return strike();
  res.status(status).json(body);
}

export function headerValue(req: Request, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** `Prefer: return=representation` asks for the whole resource instead of the minimal answer. */
export function wantsRepresentation(req: Request): boolean {
  return /return=representation/i.test(headerValue(req, 'prefer') ?? '');
}

/** Where this request reached the stand-in, mount path included (the demo serves it under the store). */
export function originOf(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? 'localhost'}${req.baseUrl}`;
}

/** Configured URLs win; a stand-in mounted without them links back to where it was reached. */
export function basesFor(urls: { api?: string; public?: string }, req?: Request): Bases {
  const api = urls.api ?? (req ? originOf(req) : 'http://localhost');
  return { api, public: urls.public ?? api };
}
