import type { Request } from 'express';
import type { PricedBasket } from '../basket/basket.js';
import type { Db } from '../db/database.js';
import { ownedTrackIds } from '../downloads/repository.js';
import { customerIdOf } from './session.js';

/**
 * Basket lines a signed-in customer already owns, as "kind:id": a track they have, or a release
 * whose every track they have. Nothing for a visitor who is not signed in.
 */
export function ownedBasketLines(db: Db) {
  return async (req: Request, lines: PricedBasket['lines']): Promise<Set<string>> => {
    const customerId = customerIdOf(req);
    if (customerId === undefined || lines.length === 0) return new Set();
    const releaseIds = lines.filter((l) => l.kind === 'release').map((l) => l.id);
    const releaseTracks = releaseIds.length
      ? // A release is its tracks on sale: one a DDEX update withdrew does not count.
        await db
          .selectFrom('tracks')
          .select(['id', 'release_id'])
          .where('release_id', 'in', releaseIds)
          .where('withdrawn_at', 'is', null)
          .execute()
      : [];
    const owned = await ownedTrackIds(db, customerId, [
      ...lines.filter((l) => l.kind === 'track').map((l) => l.id),
      ...releaseTracks.map((t) => t.id),
    ]);
    const result = new Set<string>();
    for (const line of lines) {
      const tracks = line.kind === 'track' ? [line.id] : releaseTracks.filter((t) => t.release_id === line.id).map((t) => t.id);
      if (tracks.length > 0 && tracks.every((id) => owned.has(id))) result.add(`${line.kind}:${line.id}`);
    }
    return result;
  };
}
