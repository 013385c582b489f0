/**
 * SQL for the encoding queue (media_encodings): what a download asks for, and what the encoder
 * worker (encoder.ts) claims, like the outbox: on MySQL the waiting rows are read FOR UPDATE SKIP
 * LOCKED, so two processes claim different rows; on SQLite (one writer) each claim is a
 * conditional UPDATE only one process can win. A claim holds a lease; a process that dies
 * mid-encode leaves a lease that runs out, and any worker takes the row again.
 */
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { dialectOf, isDuplicateKeyError, skipLocked, toDbTime } from '../db/dialect.js';
import type { EncodingStatus, MasterFormat } from '../db/schema.js';
import { keys, sha256Hex } from './keys.js';
import { FORMATS, type FormatId } from './formats.js';
import type { DeliveryTags } from './ffmpeg.js';

/** After this many failed attempts an encoding is marked failed (an operator can reset it). */
export const MAX_ENCODING_ATTEMPTS = 3;

/**
 * The columns an encoding is made from, for a query that joins tracks, releases, the track's and
 * the release's artists (as track_artist and release_artist) and, left, genres: the download route
 * reads them with its ownership check, the worker on its own (encodingInputs), in one query each.
 */
export const ENCODING_INPUT_COLUMNS = [
  'tracks.id',
  'tracks.title',
  'tracks.track_number',
  'tracks.disc_number',
  'tracks.media_file',
  'tracks.master_format',
  'tracks.sample_rate',
  'tracks.channels',
  'track_artist.name as artist',
  'release_artist.name as album_artist',
  'releases.id as release_id',
  'releases.title as album',
  'releases.release_date',
  'releases.cover_file',
  'genres.name as genre',
] as const;

/** The "n of m" of the tags: tracks on the track's disc, and discs on its release. */
export const trackCountColumn = () =>
  sql<number>`(select count(*) from tracks as disc_tracks where disc_tracks.release_id = tracks.release_id and disc_tracks.disc_number = tracks.disc_number)`.as(
    'track_count',
  );
export const discCountColumn = () =>
  sql<number>`(select max(release_tracks.disc_number) from tracks as release_tracks where release_tracks.release_id = tracks.release_id)`.as(
    'disc_count',
  );

export interface EncodingInputRow {
  title: string;
  track_number: number;
  disc_number: number;
  media_file: string;
  master_format: MasterFormat;
  sample_rate: number | null;
  channels: number | null;
  artist: string;
  album_artist: string;
  album: string;
  release_date: string | null;
  cover_file: string | null;
  genre: string | null;
  track_count: number | string;
  disc_count: number | string | null;
}

/** Everything an encoding is made from, as a row with ENCODING_INPUT_COLUMNS and both counts gives it. */
export function inputsFromRow(row: EncodingInputRow) {
  const tags: DeliveryTags = {
    title: row.title,
    artist: row.artist,
    albumArtist: row.album_artist,
    album: row.album,
    trackNumber: row.track_number,
    trackCount: Number(row.track_count),
    discNumber: row.disc_number,
    discCount: Number(row.disc_count),
    year: row.release_date ? String(row.release_date).slice(0, 4) : null,
    genre: row.genre,
  };
  return {
    master: row.media_file,
    masterFormat: row.master_format,
    sampleRate: row.sample_rate,
    channels: row.channels,
    cover: row.cover_file,
    tags,
  };
}

/** Everything an encoding is made from, read fresh: the master, the catalogue's tags, the cover. */
export async function encodingInputs(db: Db, trackId: number) {
  const row = await db
    .selectFrom('tracks')
    .innerJoin('releases', 'releases.id', 'tracks.release_id')
    .innerJoin('artists as track_artist', 'track_artist.id', 'tracks.artist_id')
    .innerJoin('artists as release_artist', 'release_artist.id', 'releases.artist_id')
    .leftJoin('genres', 'genres.id', 'releases.genre_id')
    .where('tracks.id', '=', trackId)
    .select([...ENCODING_INPUT_COLUMNS, trackCountColumn(), discCountColumn()])
    .executeTakeFirst();
  return row ? inputsFromRow(row) : undefined;
}

export type EncodingInputs = ReturnType<typeof inputsFromRow>;

/** The content address of an encoding: a change of master, format, tags or cover is a new file. */
export function encodingKey(format: FormatId, inputs: EncodingInputs): string {
  const hash = sha256Hex(JSON.stringify({ v: 1, format, master: inputs.master, tags: inputs.tags, cover: inputs.cover }));
  return keys.encoding(format, hash, FORMATS[format].extension);
}

export async function findEncoding(db: Db, trackId: number, format: FormatId) {
  return db
    .selectFrom('media_encodings')
    .select(['id', 'output_key', 'status', 'last_error'])
    .where('track_id', '=', trackId)
    .where('format', '=', format)
    .executeTakeFirst();
}

/** The columns of a job that waits for its first claim, in either queue. */
export const waitingJob = (now: string) => ({
  status: 'pending' as const,
  attempts: 0,
  lease_until: null,
  claimed_by: null,
  last_error: null,
  output_bytes: null,
  created_at: now,
  updated_at: now,
});

/** Queues an encoding (or re-queues one whose inputs changed or whose file was lost). */
export async function queueEncoding(db: Db, trackId: number, format: FormatId, outputKey: string, now: string): Promise<void> {
  const existing = await findEncoding(db, trackId, format);
  if (!existing) {
    try {
      await db
        .insertInto('media_encodings')
        .values({
          track_id: trackId,
          format,
          output_key: outputKey,
          ...waitingJob(now),
        })
        .execute();
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error; // another request queued it first
    }
    return;
  }
  await db
    .updateTable('media_encodings')
    .set({ output_key: outputKey, status: 'pending', attempts: 0, last_error: null, claimed_by: null, lease_until: null, updated_at: now })
    .where('id', '=', existing.id)
    .where('status', 'in', ['ready', 'failed'])
    .execute();
}

/** The two queues the media worker serves; they share the lease columns (id, status, attempts, lease_until, claimed_by, ...). */
export type QueueTable = 'media_encodings' | 'media_zips';
/** Kysely is told the table is media_encodings, whose lease columns both tables have by the same names and types. */
const queue = (table: QueueTable) => table as 'media_encodings';

/** Claims up to `limit` waiting rows (or ones whose lease ran out) of a queue for this worker; their ids. */
export async function claimJobs(db: Db, table: QueueTable, workerId: string, now: Date, leaseMs: number, limit: number): Promise<number[]> {
  const at = toDbTime(now);
  const leaseEnd = toDbTime(new Date(now.getTime() + leaseMs));
  const waiting = (qb: Db) =>
    qb
      .selectFrom(queue(table))
      .select('id')
      .where((eb) => eb.or([eb('status', '=', 'pending'), eb.and([eb('status', '=', 'working'), eb('lease_until', '<=', at)])]))
      .orderBy('id')
      .limit(limit);
  const claim = {
    status: 'working' as EncodingStatus,
    claimed_by: workerId,
    lease_until: leaseEnd,
    attempts: sql<number>`attempts + 1`,
    updated_at: at,
  };
  let ids: number[] = [];
  if (dialectIsMysql(db)) {
    ids = await db
      .transaction()
      .setIsolationLevel('read committed')
      .execute(async (tx) => {
        const rows = await skipLocked(tx, waiting(tx as unknown as Db)).execute();
        const taken = rows.map((r) => r.id);
        if (taken.length) await tx.updateTable(queue(table)).set(claim).where('id', 'in', taken).execute();
        return taken;
      });
  } else {
    for (const { id } of await waiting(db).execute()) {
      const won = await db
        .updateTable(queue(table))
        .set(claim)
        .where('id', '=', id)
        .where((eb) => eb.or([eb('status', '=', 'pending'), eb.and([eb('status', '=', 'working'), eb('lease_until', '<=', at)])]))
        .executeTakeFirst();
      if (Number(won.numUpdatedRows) === 1) ids.push(id);
    }
  }
  return ids;
}

/** Claims up to `limit` waiting encodings (or ones whose lease ran out) for this worker. */
export async function claimEncodings(
  db: Db,
  workerId: string,
  now: Date,
  leaseMs: number,
  limit: number,
): Promise<{ id: number; track_id: number; format: string; attempts: number }[]> {
  const ids = await claimJobs(db, 'media_encodings', workerId, now, leaseMs, limit);
  if (!ids.length) return [];
  return db
    .selectFrom('media_encodings')
    .select(['id', 'track_id', 'format', 'attempts'])
    .where('id', 'in', ids)
    .where('claimed_by', '=', workerId)
    .execute();
}

/** Records a finished job, if this worker still holds the row. */
export async function jobDone(db: Db, table: QueueTable, id: number, workerId: string, outputKey: string, bytes: number, now: string) {
  await db
    .updateTable(queue(table))
    .set({
      status: 'ready',
      output_key: outputKey,
      output_bytes: bytes,
      claimed_by: null,
      lease_until: null,
      last_error: null,
      updated_at: now,
    })
    .where('id', '=', id)
    .where('claimed_by', '=', workerId)
    .execute();
}

/** Records a failed attempt: back in the queue, or failed once out of attempts (an operator can retry it: src/admin/media). */
export async function jobFailed(db: Db, table: QueueTable, id: number, workerId: string, attempts: number, error: string, now: string) {
  await db
    .updateTable(queue(table))
    .set({
      status: attempts >= MAX_ENCODING_ATTEMPTS ? 'failed' : 'pending',
      claimed_by: null,
      lease_until: null,
      last_error: error.slice(0, 255),
      updated_at: now,
    })
    .where('id', '=', id)
    .where('claimed_by', '=', workerId)
    .execute();
}

export const encodingDone = (db: Db, id: number, workerId: string, outputKey: string, bytes: number, now: string) =>
  jobDone(db, 'media_encodings', id, workerId, outputKey, bytes, now);
export const encodingFailed = (db: Db, id: number, workerId: string, attempts: number, error: string, now: string) =>
  jobFailed(db, 'media_encodings', id, workerId, attempts, error, now);

const dialectIsMysql = (db: Db) => dialectOf(db) === 'mysql';
