import type { Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import { parseBody } from '../web/params.js';
import type { CodeRefusal } from './codes.js';
import type { CodeSignInCheck } from './sign-in.js';

type Reason = CodeRefusal['reason'];

/** What a refused code is told, unless a feature words it otherwise. */
export const CODE_MESSAGES: Record<Reason, string> = {
  wrong: 'That code is not right. Please check it and try again.',
  expired: 'That code has expired. Please ask for a new one.',
  locked: 'Too many wrong tries for that code. Please ask for a new one.',
};

/** What differs between the code-entry pages of customers, affiliates and operators. */
export interface CodeEntry<Key> {
  /** Whose code is being typed, from the session; without it the browser goes back to `startPath`. */
  pending: (req: Request) => Key | undefined;
  startPath: string;
  verify: (key: Key, code: string) => Promise<CodeSignInCheck>;
  /** Signs the session in (a fresh session id); then the browser goes to `donePath`. */
  signIn: (req: Request, id: number) => Promise<void>;
  donePath: string;
  render: (res: Response, key: Key, status?: number, error?: string) => void;
  /** Answers a refused code; by default the code page again, with the reason. */
  refuse?: (req: Request, res: Response, key: Key, reason: Reason) => void;
}

/** The code page (GET) and the typed code (POST, behind `limit`): one pair of handlers for every kind of person. */
export function codeEntryHandlers<Key>(entry: CodeEntry<Key>): { show: RequestHandler; check: RequestHandler } {
  const refuse = entry.refuse ?? ((_req, res, key, reason) => entry.render(res, key, 400, CODE_MESSAGES[reason]));
  return {
    show: (req, res) => {
      const key = entry.pending(req);
      if (!key) return res.redirect(303, entry.startPath);
      entry.render(res, key);
    },
    check: async (req, res) => {
      const key = entry.pending(req);
      if (!key) return res.redirect(303, entry.startPath);
      const { code } = parseBody(z.object({ code: z.string().trim().max(20) }), req.body);
      // People type codes with spaces ("123 456"); anything but six digits is simply wrong.
      const digits = code.replace(/\s/g, '');
      const result = /^\d{6}$/.test(digits) ? await entry.verify(key, digits) : ({ ok: false, reason: 'wrong' } as const);
      if (!result.ok) return refuse(req, res, key, result.reason);
      await entry.signIn(req, result.id);
      res.redirect(303, entry.donePath);
    },
  };
}
