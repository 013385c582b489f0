import type { Request, RequestHandler, Response } from 'express';
import './session-data.js';

type FlashMessage = { kind: 'info' | 'error'; text: string };

/** One-time messages carried across a redirect (post, redirect, get). */
export function flash(req: Request, kind: FlashMessage['kind'], text: string): void {
  req.session.flash = [...(req.session.flash ?? []), { kind, text }];
}

/** A message for the page being rendered now, after those carried over from the last request. */
export function flashNow(res: Response, kind: FlashMessage['kind'], text: string): void {
  res.locals.flash = [...((res.locals.flash as FlashMessage[] | undefined) ?? []), { kind, text }];
}

/**
 * Messages are taken from the session only when a page is rendered with them: an image or a
 * preview fetched by the same browser at the same moment must not swallow them.
 */
export const exposeFlash: RequestHandler = (req, res, next) => {
  let taken: FlashMessage[] | undefined;
  Object.defineProperty(res.locals, 'flash', {
    enumerable: true,
    configurable: true,
    get() {
      if (taken === undefined) {
        taken = req.session?.flash ?? [];
        if (req.session?.flash) delete req.session.flash;
      }
      return taken;
    },
    set(messages: FlashMessage[]) {
      taken = messages;
    },
  });
  next();
};
