import type { CatalogueService } from '../catalogue/service.js';

/**
 * The basket as kept in the session: ids only, never prices (prices are read from the database
 * whenever the basket is shown or checked out). Digital goods, so no quantities.
 */
export interface BasketState {
  releases: number[];
  tracks: number[];
}

export type ItemKind = 'release' | 'track';

export type AddResult =
  | { outcome: 'added'; title: string; replacedTracks: number }
  | { outcome: 'already-in-basket'; title: string }
  | { outcome: 'covered-by-release'; title: string; releaseTitle: string }
  | { outcome: 'not-for-sale' };

export const emptyBasket = (): BasketState => ({ releases: [], tracks: [] });

export function basketCount(basket: BasketState | undefined): number {
  return basket ? basket.releases.length + basket.tracks.length : 0;
}

export function createBasketService(catalogue: CatalogueService) {
  async function addRelease(basket: BasketState, id: number): Promise<AddResult> {
    const [release] = await catalogue.releasesForSale([id]);
    if (!release) return { outcome: 'not-for-sale' };
    if (basket.releases.includes(id)) return { outcome: 'already-in-basket', title: release.title };
    // The release covers its tracks: single tracks of it already in the basket make way.
    const tracks = await catalogue.tracksForSale(basket.tracks);
    const covered = new Set(tracks.filter((t) => t.releaseId === id).map((t) => t.id));
    basket.tracks = basket.tracks.filter((t) => !covered.has(t));
    basket.releases.push(id);
    return { outcome: 'added', title: release.title, replacedTracks: covered.size };
  }

  async function addTrack(basket: BasketState, id: number): Promise<AddResult> {
    const [track] = await catalogue.tracksForSale([id]);
    if (!track) return { outcome: 'not-for-sale' };
    if (basket.releases.includes(track.releaseId))
      return { outcome: 'covered-by-release', title: track.title, releaseTitle: track.releaseTitle };
    if (basket.tracks.includes(id)) return { outcome: 'already-in-basket', title: track.title };
    basket.tracks.push(id);
    return { outcome: 'added', title: track.title, replacedTracks: 0 };
  }

  return {
    add: (basket: BasketState, kind: ItemKind, id: number) => (kind === 'release' ? addRelease(basket, id) : addTrack(basket, id)),

    remove(basket: BasketState, kind: ItemKind, id: number): void {
      if (kind === 'release') basket.releases = basket.releases.filter((r) => r !== id);
      else basket.tracks = basket.tracks.filter((t) => t !== id);
    },

    /** The basket priced now. Items no longer on sale drop out, and the caller is told. */
    async priced(basket: BasketState) {
      const [releases, tracks] = await Promise.all([catalogue.releasesForSale(basket.releases), catalogue.tracksForSale(basket.tracks)]);
      const lines = [
        ...releases.map((r) => ({
          kind: 'release' as const,
          id: r.id,
          releaseId: r.id,
          title: r.title,
          artistName: r.artistName,
          url: r.url,
          coverUrl: r.coverUrl,
          detail: `${r.kind === 'ep' ? 'EP' : r.kind === 'single' ? 'Single' : 'Album'}, ${r.trackCount} track${r.trackCount === 1 ? '' : 's'}`,
          pricePence: r.pricePence,
        })),
        ...tracks.map((t) => ({
          kind: 'track' as const,
          id: t.id,
          releaseId: t.releaseId,
          title: t.title,
          artistName: t.artistName,
          url: t.releaseUrl,
          coverUrl: t.coverUrl,
          detail: `Track from ${t.releaseTitle}`,
          pricePence: t.pricePence,
        })),
      ];
      const dropped = basketCount(basket) - lines.length;
      return { lines, totalPence: lines.reduce((sum, l) => sum + l.pricePence, 0), dropped };
    },
  };
}

export type BasketService = ReturnType<typeof createBasketService>;
export type PricedBasket = Awaited<ReturnType<BasketService['priced']>>;
