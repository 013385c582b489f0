import type { Request } from 'express';
import { emptyBasket } from '../basket/basket.js';
import '../web/session-data.js';

/** An order is shown only to the browser session that placed it (and, later, to its customer). */
export function rememberOrder(req: Request, reference: string): void {
  req.session.orderRefs = [...(req.session.orderRefs ?? []).slice(-19), reference];
}

export function ownsOrder(req: Request, reference: string): boolean {
  return req.session.orderRefs?.includes(reference) ?? false;
}

export function emptyBasketAfterPayment(req: Request): void {
  req.session.basket = emptyBasket();
}
