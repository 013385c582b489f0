import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly publicMessage: string,
  ) {
    super(publicMessage);
  }
}

export const notFound: RequestHandler = (_req, res) => {
  res.status(404).render('errors/not-found', { title: 'Page not found' });
};

/**
 * Last stop for every error: a client mistake gets its own clear message and a 4xx; anything else
 * is logged and the visitor sees a plain apology with no internals.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const status = clientErrorStatus(err);
    if (status === undefined) logger.error({ err, path: req.path }, 'request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const code = status ?? 500;
    const message = status !== undefined ? clientMessage(err, code) : 'Something went wrong on our side. Please try again in a moment.';
    res.status(code);
    if (req.accepts(['html', 'json']) === 'json') {
      res.json({ error: message });
      return;
    }
    res.render('errors/error', { title: code >= 500 ? 'Sorry' : 'That did not work', status: code, message }, (renderError, html) => {
      if (renderError) res.type('text').send(message);
      else res.send(html);
    });
  };
}

function clientErrorStatus(err: unknown): number | undefined {
  const e = err as { status?: number; statusCode?: number; expose?: boolean };
  const status = err instanceof HttpError ? err.status : (e?.status ?? e?.statusCode);
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

function clientMessage(err: unknown, status: number): string {
  if (err instanceof HttpError) return err.publicMessage;
  const e = err as { type?: string; code?: string; message?: string };
  if (e.code === 'EBADCSRFTOKEN') return e.message ?? 'This form has expired. Please reload the page and try again.';
  if (e.type === 'entity.too.large') return 'That request was too large.';
  if (e.type === 'entity.parse.failed') return 'That request could not be read.';
  return status === 404 ? 'We could not find that.' : 'That request could not be handled.';
}
