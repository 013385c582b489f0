import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { reusableQuery } from '../db/reusable-query.js';
import { discCountColumn, ENCODING_INPUT_COLUMNS, inputsFromRow, trackCountColumn, type EncodingInputs } from '../media/encodings.js';
import type { EncodingStatus } from '../db/schema.js';
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

export interface DownloadableTrack {
  id: number;
  title: string;
  media_file: string;
  master_format: EncodingInputs['masterFormat'];
  artist: string;
  customer_id: number;
  /** What its encodings are made from, read now: a retag or a new cover makes a new key. */
  inputs: EncodingInputs;
  /** The queue's rows for this track, one per format asked for so far. */
  encodings: { format: string; output_key: string; status: EncodingStatus }[];
  /** The signed-in customer's last format choice (null: none, or not signed in). */
  rememberedFormat: string | null;
}

/** downloadableTrack's one query: compiled once per shape (src/db/reusable-query.ts), as every download asks it. */
const downloadableTrackQuery = reusableQuery(
  (db, { customerId, orderRefs, paidSince, trackId }: { customerId?: number; orderRefs: string[]; paidSince?: string; trackId: number }) =>
    ownedTracks(db, { customerId, orderRefs, paidSince: paidSince ?? '' })
      .leftJoin('genres', 'genres.id', 'releases.genre_id')
      .leftJoin('media_encodings', 'media_encodings.track_id', 'tracks.id')
      .where('tracks.id', '=', trackId)
      .select([
        ...ENCODING_INPUT_COLUMNS,
        trackCountColumn(),
        discCountColumn(),
        'entitlements.customer_id',
        'media_encodings.format as encoding_format',
        'media_encodings.output_key as encoding_key',
        'media_encodings.status as encoding_status',
        (customerId === undefined
          ? sql<string | null>`null`
          : sql<string | null>`(select download_format from customers where customers.id = ${customerId})`
        ).as('remembered_format'),
      ]),
);

/**
 * A track the holder may download, with everything the download needs in one query: the
 * ownership check, what an encoding of it is made from (its key is computed from these), the
 * encoding queue's rows for it, and the customer's remembered format. A download of a file that
 * is ready is then this query, the download log and a signature (the download bench's budget).
 */
export async function downloadableTrack(db: Db, holder: DownloadHolder, trackId: number): Promise<DownloadableTrack | undefined> {
  const { customerId, orderRefs, paidSince } = holder;
  // The paid-since time counts only with the browser's orders.
  const rows = await downloadableTrackQuery(db, {
    customerId,
    orderRefs,
    paidSince: orderRefs.length > 0 ? paidSince : undefined,
    trackId,
  });
  const first = rows[0];
  if (!first) return undefined;
  const encodings = new Map<string, DownloadableTrack['encodings'][number]>();
  for (const row of rows)
    if (row.encoding_format && row.encoding_key && row.encoding_status)
      encodings.set(row.encoding_format, { format: row.encoding_format, output_key: row.encoding_key, status: row.encoding_status });
  return {
    id: first.id,
    title: first.title,
    media_file: first.media_file,
    master_format: first.master_format,
    artist: first.artist,
    customer_id: first.customer_id,
    inputs: inputsFromRow(first),
    encodings: [...encodings.values()],
    rememberedFormat: first.remembered_format,
  };
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

export interface DownloadLogEntry {
  customerId: number;
  trackId: number | null;
  releaseId: number | null;
  /** Database time of the download (toDbTime). */
  at: string;
}

/**
 * Writes download log rows in one statement, each only while its customer still exists: a row
 * noted just before the customer's data was erased is not written (it would bring back what the
 * erasure deleted, and fail the foreign key).
 */
export async function insertDownloads(db: Db, entries: DownloadLogEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const rows = sql.join(
    entries.map(
      (e) => sql`select ${e.customerId} as customer_id, ${e.trackId} as track_id, ${e.releaseId} as release_id, ${e.at} as created_at`,
    ),
    sql` union all `,
  );
  await sql`insert into downloads (customer_id, track_id, release_id, created_at)
    select logged.customer_id, logged.track_id, logged.release_id, logged.created_at
    from (${rows}) as logged inner join customers on customers.id = logged.customer_id`.execute(db);
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
