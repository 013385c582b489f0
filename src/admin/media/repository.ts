/** The media queue as the operator sees it (src/media/): what failed, and putting a failed job back. */
import type { Transaction } from 'kysely';
import type { Db } from '../../db/database.js';
import { toDbTime } from '../../db/dialect.js';
import type { Database, EncodingStatus } from '../../db/schema.js';

const STATUSES: EncodingStatus[] = ['pending', 'working', 'ready', 'failed'];
/** Failed jobs shown at most: more than this many means something is wrong for all of them (ffmpeg, the bucket). */
const FAILED_SHOWN = 200;

async function counts(db: Db, table: 'media_encodings' | 'media_zips'): Promise<Record<EncodingStatus, number>> {
  const rows = await db
    .selectFrom(table as 'media_encodings')
    .groupBy('status')
    .select((eb) => ['status', eb.fn.countAll<number>().as('n')])
    .execute();
  const found = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<EncodingStatus, number>;
  for (const row of rows) found[row.status] = Number(row.n);
  return found;
}

export async function queueCounts(db: Db) {
  const [encodings, zips] = await Promise.all([counts(db, 'media_encodings'), counts(db, 'media_zips')]);
  return { encodings, zips };
}

/** Encodings out of attempts, newest first: the format, the track, the last error and the tries. */
export async function failedEncodings(db: Db) {
  return db
    .selectFrom('media_encodings as e')
    .innerJoin('tracks', 'tracks.id', 'e.track_id')
    .innerJoin('releases', 'releases.id', 'tracks.release_id')
    .innerJoin('artists', 'artists.id', 'tracks.artist_id')
    .where('e.status', '=', 'failed')
    .select([
      'e.id',
      'e.format',
      'e.attempts',
      'e.last_error',
      'e.updated_at',
      'tracks.id as track_id',
      'tracks.title as track_title',
      'artists.name as artist',
      'releases.id as release_id',
      'releases.title as release_title',
    ])
    .orderBy('e.updated_at', 'desc')
    .orderBy('e.id', 'desc')
    .limit(FAILED_SHOWN)
    .execute();
}

/** Release ZIPs out of attempts, newest first. */
export async function failedZips(db: Db) {
  return db
    .selectFrom('media_zips as z')
    .innerJoin('releases', 'releases.id', 'z.release_id')
    .where('z.status', '=', 'failed')
    .select([
      'z.id',
      'z.format',
      'z.attempts',
      'z.last_error',
      'z.updated_at',
      'releases.id as release_id',
      'releases.title as release_title',
    ])
    .orderBy('z.updated_at', 'desc')
    .orderBy('z.id', 'desc')
    .limit(FAILED_SHOWN)
    .execute();
}

/**
 * A failed job goes back to the queue with a fresh set of attempts; only a failed one (never one
 * being made or made). Returns what was retried, for the audit log, or null when nothing was.
 */
export async function retryFailed(
  tx: Transaction<Database> | Db,
  table: 'media_encodings' | 'media_zips',
  id: number,
  now: Date,
): Promise<boolean> {
  const at = toDbTime(now);
  const result = await tx
    .updateTable(table as 'media_encodings')
    .set({ status: 'pending', attempts: 0, last_error: null, claimed_by: null, lease_until: null, updated_at: at })
    .where('id', '=', id)
    .where('status', '=', 'failed')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function encodingOf(tx: Transaction<Database> | Db, id: number) {
  return tx.selectFrom('media_encodings').select(['track_id', 'format', 'last_error']).where('id', '=', id).executeTakeFirst();
}

export async function zipOf(tx: Transaction<Database> | Db, id: number) {
  return tx.selectFrom('media_zips').select(['release_id', 'format', 'last_error']).where('id', '=', id).executeTakeFirst();
}
