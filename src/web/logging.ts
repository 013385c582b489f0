import type { IncomingMessage, ServerResponse } from 'node:http';
import { pino, type Logger } from 'pino';
import { pinoHttp } from 'pino-http';

export function createLogger(level: string): Logger {
  return pino({ level, redact: { paths: ['*.password', '*.secret', '*.token', '*.email', '*.msisdn'], censor: '[redacted]' } });
}

/**
 * Request logs name the method, the path without its query string (queries can carry search terms
 * or sign-in tokens) and the outcome; never cookies, headers, bodies or addresses.
 */
export function requestLogger(logger: Logger) {
  return pinoHttp({
    logger,
    quietReqLogger: true,
    serializers: {
      req: (req: IncomingMessage & { path?: string }) => ({ method: req.method, path: (req.url ?? '').split('?')[0] }),
      res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
    },
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
    autoLogging: { ignore: (req) => (req.url ?? '').startsWith('/static/') || req.url === '/healthz' },
  });
}
