import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { logFormatFor } from '../../src/web/logging.js';

describe('the server log format', () => {
  it('is readable lines for a person at a terminal outside production', () => {
    expect(logFormatFor('development', true)).toBe('pretty');
    expect(logFormatFor('test', true)).toBe('pretty');
  });

  it('is JSON in production, even at a terminal, and whenever the output goes to a pipe or a file', () => {
    expect(logFormatFor('production', true)).toBe('json');
    expect(logFormatFor('production', false)).toBe('json');
    expect(logFormatFor('development', false)).toBe('json');
  });

  it('finds pino-pretty, the transport pino loads by name in a worker thread', () => {
    expect(() => createRequire(import.meta.url).resolve('pino-pretty')).not.toThrow();
  });
});
