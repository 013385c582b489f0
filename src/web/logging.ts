import type { RequestHandler } from 'express';
import { pino, type DestinationStream, type Logger } from 'pino';
import { withoutTokens } from './private-paths.js';

const REDACT = { paths: ['*.password', '*.secret', '*.token', '*.email', '*.msisdn'], censor: '[redacted]' };

/** `destination`: where the lines go (standard output unless given; tests capture them). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, redact: REDACT }, destination);
}

/**
 * How the server writes its log: 'pretty' (coloured lines, through pino-pretty) for a person
 * watching a terminal, 'json' (one object a line) for everything that collects logs: production,
 * a pipe, a file, a service manager.
 */
export function logFormatFor(env: 'development' | 'production' | 'test', stdoutIsTerminal: boolean): 'pretty' | 'json' {
  return env !== 'production' && stdoutIsTerminal ? 'pretty' : 'json';
}

/**
 * Production's standard output: lines gathered up to 4 KB and written at least once a second,
 * instead of one write to the pipe per line (the media bench: that write was about a tenth of a
 * presigned download's store CPU, 0.13 to 0.26 ms on MySQL). pino writes what is left when the
 * process exits, a crash included; only a kill -9 can lose the last second. A terminal, a
 * developer's pipe and the tests read every line as it is written.
 */
const bufferedStdout = () => pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 1000 });

/** The server's logger on standard output, in the format logFormatFor chooses. */
export function createServerLogger(level: string, env: 'development' | 'production' | 'test'): Logger {
  if (logFormatFor(env, process.stdout.isTTY === true) === 'json')
    return createLogger(level, env === 'production' ? bufferedStdout() : undefined);
  // A transport: pino-pretty formats in a worker thread, so the request path stays as fast as with JSON.
  return pino({
    level,
    redact: REDACT,
    transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } },
  });
}

const QUIET_PATHS = /^\/(static\/|healthz$|preview\/|cover\/)/;

/**
 * One line per request: method, path without its query string (queries can carry search terms
 * or sign-in tokens) and with the tokens of link paths replaced (private-paths.ts), status and time; never cookies, headers, bodies or addresses. Written by
 * hand rather than with pino-http, which cost half the throughput of a page in our benchmark.
 */
export function requestLogger(logger: Logger): RequestHandler {
  // The line is four values made here, none of them an object a redact path could reach, so this
  // child skips redaction: its wildcard paths were checked against every field of every line, about
  // a tenth of what a cached shopper's page allocated (bench/alloc profile).
  const lines = logger.child({}, { redact: { paths: [] } });
  return (req, res, next) => {
    const started = performance.now();
    res.on('finish', () => {
      const status = res.statusCode;
      const path = withoutTokens(req.originalUrl.split('?')[0]!);
      if (status < 400 && QUIET_PATHS.test(path)) return;
      const entry = { method: req.method, path, status, ms: Math.round(performance.now() - started) };
      if (status >= 500) lines.error(entry, 'request failed');
      else lines.info(entry, 'request');
    });
    next();
  };
}
