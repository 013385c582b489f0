import type { Db } from '../db/database.js';
import type { DownloadHolder } from './access.js';

/**
 * What a request may download: tracks granted by a paid order and not revoked, owned by the
 * signed-in customer or granted by an order this browser placed and paid for recently
 * (access.ts). A refunded order's entitlements are revoked in the refund's transaction, and the
 * order status is checked too, so either alone is enough to stop a download.
 */
function ownedTracks(db: Db, holder: DownloadHolder | number) {
  const { customerId, orderRefs, paidSince } = typeof holder === 'number' ? { customerId: holder, orderRefs: [], paidSince: '' } : holder;
  return db
    .selectFrom('entitlements')
    .innerJoin('orders', 'orders.id', 'entitlements.order_id')
    .innerJoin('tracks', 'tracks.id', 'entitlements.track_id')
    .innerJoin('releases', 'releases.id', 'tracks.release_id')
    .innerJoin('artists as track_artist', 'track_artist.id', 'tracks.artist_id')
    .innerJoin('artists as release_artist', 'release_artist.id', 'releases.artist_id')
    .where((eb) =>
      eb.or([
        ...(customerId !== undefined ? [eb('entitlements.customer_id', '=', customerId)] : []),
        ...(orderRefs.length > 0 ? [eb.and([eb('orders.reference', 'in', orderRefs), eb('orders.paid_at', '>=', paidSince)])] : []),
      ]),
    )
    .where('entitlements.revoked_at', 'is', null)
    .where('orders.status', '=', 'paid');
}

export async function ownedTrack(db: Db, holder: DownloadHolder, trackId: number) {
  return ownedTracks(db, holder)
    .where('tracks.id', '=', trackId)
    .select([
      'tracks.id',
      'tracks.title',
      'tracks.media_file',
      'tracks.master_format',
      'track_artist.name as artist',
      'entitlements.customer_id',
    ])
    .executeTakeFirst();
}

/** What the holder may download, newest purchase first, one row per track; `orderId` narrows it to one order's music. */
export async function library(db: Db, holder: DownloadHolder | number, orderId?: number) {
  const query = ownedTracks(db, holder);
  return (orderId === undefined ? query : query.where('orders.id', '=', orderId))
    .select((eb) => [
      'tracks.id',
      'tracks.title',
      'tracks.track_number',
      'tracks.disc_number',
      'tracks.duration_ms',
      'tracks.media_file',
      'tracks.master_format',
      'track_artist.name as artist',
      'releases.id as release_id',
      'releases.title as release_title',
      'release_artist.name as release_artist',
      'releases.cover_file',
      'releases.updated_at as release_updated_at',
      eb.fn.max('entitlements.created_at').as('bought_at'),
      // For the download log: a browser's orders may belong to more than one customer (a PayPal and a mobile purchase).
      eb.fn.max('entitlements.customer_id').as('customer_id'),
    ])
    .groupBy([
      'tracks.id',
      'tracks.title',
      'tracks.track_number',
      'tracks.disc_number',
      'tracks.duration_ms',
      'tracks.media_file',
      'tracks.master_format',
      'track_artist.name',
      'releases.id',
      'releases.title',
      'release_artist.name',
      'releases.cover_file',
      'releases.updated_at',
    ])
    .orderBy('bought_at', 'desc')
    .orderBy('releases.id')
    .orderBy('tracks.disc_number')
    .orderBy('tracks.track_number')
    .execute();
}

export async function logDownload(db: Db, entry: { customerId: number; trackId: number | null; releaseId: number | null; at: string }) {
  await db
    .insertInto('downloads')
    .values({ customer_id: entry.customerId, track_id: entry.trackId, release_id: entry.releaseId, created_at: entry.at })
    .execute();
}

/** Of these tracks, the ones the customer already owns (for the basket's "you already own this"). */
export async function ownedTrackIds(db: Db, customerId: number, trackIds: number[]): Promise<Set<number>> {
  if (trackIds.length === 0) return new Set();
  const rows = await ownedTracks(db, customerId).where('tracks.id', 'in', trackIds).select('tracks.id').execute();
  return new Set(rows.map((r) => r.id));
}

/** The download format the customer chose last (null: none yet). */
export async function preferredFormat(db: Db, customerId: number): Promise<string | null> {
  const row = await db.selectFrom('customers').select('download_format').where('id', '=', customerId).executeTakeFirst();
  return row?.download_format ?? null;
}

export async function rememberFormat(db: Db, customerId: number, format: string): Promise<void> {
  await db
    .updateTable('customers')
    .set({ download_format: format })
    .where('id', '=', customerId)
    .where((eb) => eb.or([eb('download_format', 'is', null), eb('download_format', '!=', format)]))
    .execute();
}
