import type { Request } from 'express';
import { emptyBasket } from '../basket/basket.js';
import '../web/session-data.js';

/** An order is shown only to the browser session that placed it (and, later, to its customer). */
export function rememberOrder(req: Request, reference: string): void {
  req.session.orderRefs = [...(req.session.orderRefs ?? []).slice(-19), reference];
}

/** The orders this browser placed, newest last (the paying browser's downloads start from these: src/downloads/access.ts). */
export function placedOrderRefs(req: Request): string[] {
  return req.session?.orderRefs ?? [];
}

export function ownsOrder(req: Request, reference: string): boolean {
  return req.session.orderRefs?.includes(reference) ?? false;
}

/** Takes what was paid for out of the basket; anything added since stays. */
export function removePaidItems(req: Request, items: { release_id: number; track_id: number | null }[]): void {
  const basket = req.session.basket ?? emptyBasket();
  const paidReleases = new Set(items.filter((i) => i.track_id === null).map((i) => i.release_id));
  const paidTracks = new Set(items.map((i) => i.track_id).filter((t): t is number => t !== null));
  const left = { releases: basket.releases.filter((r) => !paidReleases.has(r)), tracks: basket.tracks.filter((t) => !paidTracks.has(t)) };
  if (left.releases.length !== basket.releases.length || left.tracks.length !== basket.tracks.length) req.session.basket = left;
}
