import type { Request, RequestHandler } from 'express';
import './session-data.js';

/** One-time messages carried across a redirect (post, redirect, get). */
export function flash(req: Request, kind: 'info' | 'error', text: string): void {
  req.session.flash = [...(req.session.flash ?? []), { kind, text }];
}

export const exposeFlash: RequestHandler = (req, res, next) => {
  res.locals.flash = req.session?.flash ?? [];
  if (req.session?.flash) delete req.session.flash;
  next();
};
