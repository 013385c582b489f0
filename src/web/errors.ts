import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { isDatabaseUnavailable } from '../db/dialect.js';
import { withoutTokens } from './private-paths.js';

/** Seconds a visitor (or a proxy) is asked to wait when the database is away for a moment. */
export const RETRY_AFTER_SECONDS = 5;

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
    if (res.headersSent) return afterTheAnswer(logger, err, req, res);
    if (isDatabaseUnavailable(err)) return unavailable(logger, err, req, res);
    const status = clientErrorStatus(err);
    if (status === undefined) logger.error({ err, path: withoutTokens(req.path) }, 'request failed');
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

/**
 * The database is restarting or unreachable: a 503 with Retry-After and a "back in a moment" page
 * that needs nothing from the database or the session. The pool reconnects by itself once the
 * database answers again, so the next request after that is served normally.
 */
function unavailable(logger: Logger, err: unknown, req: Parameters<ErrorRequestHandler>[1], res: Parameters<ErrorRequestHandler>[2]): void {
  // The code only: a driver's message can quote the statement and its values.
  logger.warn({ code: databaseErrorCode(err), path: withoutTokens(req.path) }, 'database unavailable: answered 503');
  const message = 'We will be right back: the shop is catching its breath. Please try again in a few seconds.';
  res.status(503).set('Retry-After', String(RETRY_AFTER_SECONDS)).set('Cache-Control', 'no-store');
  if (req.accepts(['html', 'json']) === 'json') {
    forgetSession(req);
    res.json({ error: message });
    return;
  }
  // The page is rendered with the session still there (the layout reads the basket from it).
  res.render('errors/unavailable', { title: 'Back in a moment', message, retryAfter: RETRY_AFTER_SECONDS }, (renderError, html) => {
    forgetSession(req);
    if (renderError) res.type('html').send(`<!doctype html><title>Back in a moment</title><h1>Back in a moment</h1><p>${message}</p>`);
    else res.send(html);
  });
}

/**
 * Nothing more is done for a request answered 503: without its session, express-session neither
 * saves nor touches it when the answer ends (against the database that is away, failing only
 * after the answer has gone).
 */
function forgetSession(req: Parameters<ErrorRequestHandler>[1]): void {
  (req as { session?: unknown }).session = undefined;
}

/**
 * An error after the answer had begun: the visitor can be told nothing more. An answer already
 * complete (express-session reports a failed save or touch only after the response has ended)
 * stays as it is and so does its connection, which may carry the visitor's next request: the
 * error is logged. An answer cut off part-way is ended by closing the connection, so the client
 * never takes half a page or file for a whole one.
 */
function afterTheAnswer(
  logger: Logger,
  err: unknown,
  req: Parameters<ErrorRequestHandler>[1],
  res: Parameters<ErrorRequestHandler>[2],
): void {
  const complete = res.writableEnded;
  const details = isDatabaseUnavailable(err) ? { code: databaseErrorCode(err) } : { err };
  logger.warn(
    { ...details, path: withoutTokens(req.path), complete },
    complete ? 'failed after the answer was sent; the answer stands' : 'failed while answering; the connection is closed',
  );
  if (!complete) res.destroy();
}

function databaseErrorCode(err: unknown): string {
  return (err as { code?: string }).code ?? 'closed';
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
