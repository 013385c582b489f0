import { z } from 'zod';
import { HttpError } from './errors.js';

export const pageNumber = z.coerce.number().int().min(1).max(10_000).default(1);

/** Validates query parameters; anything malformed is the visitor's mistake, answered with a 400. */
export function parseQuery<S extends z.ZodTypeAny>(schema: S, query: unknown): z.infer<S> {
  const result = schema.safeParse(query);
  if (!result.success) {
    const names = [...new Set(result.error.issues.map((i) => i.path.join('.') || 'query'))].join(', ');
    throw new HttpError(400, `Please check the address: ${names} is not valid.`);
  }
  return result.data as z.infer<S>;
}

/** Validates a submitted form; a tampered or incomplete form is answered with a 400. */
export function parseBody<S extends z.ZodTypeAny>(schema: S, body: unknown): z.infer<S> {
  const result = schema.safeParse(body ?? {});
  if (!result.success) throw new HttpError(400, 'That form was incomplete or not valid. Please go back and try again.');
  return result.data as z.infer<S>;
}
