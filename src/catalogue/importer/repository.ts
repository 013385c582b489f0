import { sql, type Transaction } from 'kysely';
import type { Db } from '../../db/database.js';
import { insertedId } from '../../db/dialect.js';
import type { Database, DatePrecision, ReleaseKind, SearchKind } from '../../db/schema.js';
import { searchWords, slugify } from '../words.js';
import type { MasterInfo } from './read-file.js';

type Tx = Transaction<Database> | Db;

/** SQL for writing the catalogue during an import. Every function runs inside the caller's transaction. */

/** One file's savepoint inside a batch's transaction (the importer writes one file at a time). */
export async function savepoint(tx: Tx): Promise<void> {
  await sql`savepoint import_file`.execute(tx);
}

export async function releaseSavepoint(tx: Tx): Promise<void> {
  await sql`release savepoint import_file`.execute(tx);
}

/** Fails when the transaction itself is gone (MySQL rolls back the whole of it on a deadlock). */
export async function rollbackToSavepoint(tx: Tx): Promise<void> {
  await sql`rollback to savepoint import_file`.execute(tx);
}

/** What the importer needs of a track already held: whether its tags changed, and where it was. */
export interface ExistingTrack {
  id: number;
  tags_sha256: string;
  release_id: number;
  artist_id: number;
}

export async function findTrackByAudio(tx: Tx, audioSha256: string): Promise<ExistingTrack | undefined> {
  return tx
    .selectFrom('tracks')
    .select(['id', 'tags_sha256', 'release_id', 'artist_id'])
    .where('audio_sha256', '=', audioSha256)
    .executeTakeFirst();
}

/** The tracks already held for a batch of files, by audio hash: one statement for the batch. */
export async function findTracksByAudio(tx: Tx, hashes: string[]): Promise<Map<string, ExistingTrack>> {
  const found = new Map<string, ExistingTrack>();
  for (let i = 0; i < hashes.length; i += 500) {
    const rows = await tx
      .selectFrom('tracks')
      .select(['id', 'tags_sha256', 'release_id', 'artist_id', 'audio_sha256'])
      .where('audio_sha256', 'in', hashes.slice(i, i + 500))
      .execute();
    for (const { audio_sha256, ...track } of rows) found.set(audio_sha256, track);
  }
  return found;
}

export async function findOrCreateArtist(tx: Tx, name: string, now: string, terms: SearchTermWriter = termsNow): Promise<number> {
  const slug = slugify(name);
  const existing = await tx.selectFrom('artists').select('id').where('slug', '=', slug).executeTakeFirst();
  if (existing) return existing.id;
  const id = insertedId(await tx.insertInto('artists').values({ name, slug, created_at: now }).executeTakeFirstOrThrow());
  await terms.add(tx, 'artist', id, name);
  return id;
}

export async function findOrCreateGenre(tx: Tx, name: string | undefined): Promise<number | null> {
  if (!name) return null;
  const slug = slugify(name);
  const existing = await tx.selectFrom('genres').select('id').where('slug', '=', slug).executeTakeFirst();
  if (existing) return existing.id;
  return insertedId(await tx.insertInto('genres').values({ name, slug }).executeTakeFirstOrThrow());
}

export interface ReleaseFields {
  importKey: string;
  title: string;
  artistId: number;
  artistName: string;
  genreId: number | null;
  releaseDate: string | null;
  releaseDatePrecision: DatePrecision;
  coverFile: string | null;
  labelId: number;
  /** Identifiers a file gives; one not given keeps what the release had. */
  icpn?: string;
  catalogueNumber?: string;
  cLine?: string;
  pLine?: string;
}

/** A release as the importer compares it with a file's tags. */
export interface ImportedRelease {
  id: number;
  cover_file: string | null;
  title: string;
  artist_id: number;
  genre_id: number | null;
  release_date: string | null;
  label_id: number | null;
  icpn: string | null;
  catalogue_number: string | null;
  c_line: string | null;
  p_line: string | null;
}

export async function findReleaseByImportKey(tx: Tx, importKey: string): Promise<ImportedRelease | undefined> {
  return tx
    .selectFrom('releases')
    .select([
      'id',
      'cover_file',
      'title',
      'artist_id',
      'genre_id',
      'release_date',
      'label_id',
      'icpn',
      'catalogue_number',
      'c_line',
      'p_line',
    ])
    .where('import_key', '=', importKey)
    .executeTakeFirst();
}

/** Finds the release an imported file belongs to, creating it or refreshing its details (see saveRelease). */
export async function upsertRelease(tx: Tx, fields: ReleaseFields, now: string): Promise<number> {
  return (await saveRelease(tx, await findReleaseByImportKey(tx, fields.importKey), fields, now)).id;
}

/**
 * Creates the release (`existing` undefined) or refreshes its details, and returns it as it now
 * is. The second and later files of a release usually change nothing of it: then nothing is
 * written (the import bench: a release's update and its search terms were a third of each file's
 * statements).
 */
export async function saveRelease(
  tx: Tx,
  existing: ImportedRelease | undefined,
  fields: ReleaseFields,
  now: string,
  terms: SearchTermWriter = termsNow,
): Promise<ImportedRelease> {
  const details = {
    title: fields.title,
    artist_id: fields.artistId,
    genre_id: fields.genreId,
    release_date: fields.releaseDate,
    label_id: fields.labelId,
    ...(fields.icpn ? { icpn: fields.icpn } : {}),
    ...(fields.catalogueNumber ? { catalogue_number: fields.catalogueNumber } : {}),
    ...(fields.cLine ? { c_line: fields.cLine } : {}),
    ...(fields.pLine ? { p_line: fields.pLine } : {}),
    release_date_precision: fields.releaseDatePrecision,
    updated_at: now,
  };
  const compared = {
    title: fields.title,
    artist_id: fields.artistId,
    genre_id: fields.genreId,
    release_date: fields.releaseDate,
    label_id: fields.labelId,
  };
  // Identifiers a file or message does not give are kept as they are.
  const identifiers = (before?: ImportedRelease) => ({
    icpn: fields.icpn || (before?.icpn ?? null),
    catalogue_number: fields.catalogueNumber || (before?.catalogue_number ?? null),
    c_line: fields.cLine || (before?.c_line ?? null),
    p_line: fields.pLine || (before?.p_line ?? null),
  });
  if (existing) {
    const coverFile = fields.coverFile ?? existing.cover_file;
    const renamed = existing.title !== fields.title || existing.artist_id !== fields.artistId;
    if (
      !renamed &&
      existing.genre_id === fields.genreId &&
      existing.release_date === fields.releaseDate &&
      existing.cover_file === coverFile &&
      // A later DDEX message (or a retag) may move the release to another label or correct its identifiers.
      existing.label_id === fields.labelId &&
      (!fields.icpn || existing.icpn === fields.icpn) &&
      (!fields.catalogueNumber || existing.catalogue_number === fields.catalogueNumber) &&
      (!fields.cLine || existing.c_line === fields.cLine) &&
      (!fields.pLine || existing.p_line === fields.pLine)
    )
      return existing;
    await tx
      .updateTable('releases')
      .set({ ...details, cover_file: coverFile })
      .where('id', '=', existing.id)
      .execute();
    if (renamed) await terms.replace(tx, 'release', existing.id, `${fields.title} ${fields.artistName}`);
    return { id: existing.id, cover_file: coverFile, ...compared, ...identifiers(existing) };
  }
  const id = insertedId(
    await tx
      .insertInto('releases')
      .values({
        ...details,
        import_key: fields.importKey,
        slug: await freeReleaseSlug(tx, `${fields.artistName} ${fields.title}`),
        kind: 'album',
        cover_file: fields.coverFile,
        created_at: now,
      })
      .executeTakeFirstOrThrow(),
  );
  await terms.add(tx, 'release', id, `${fields.title} ${fields.artistName}`);
  return { id, cover_file: fields.coverFile, ...compared, ...identifiers() };
}

async function freeReleaseSlug(tx: Tx, text: string): Promise<string> {
  const base = slugify(text);
  const taken = new Set(
    (
      await tx
        .selectFrom('releases')
        .select('slug')
        .where((eb) => eb.or([eb('slug', '=', base), eb('slug', 'like', `${base}-%`)]))
        .execute()
    ).map((r) => r.slug),
  );
  let slug = base;
  for (let n = 2; taken.has(slug); n++) slug = `${base}-${n}`;
  return slug;
}

export interface TrackFields {
  releaseId: number;
  artistId: number;
  artistName: string;
  discNumber: number;
  trackNumber: number;
  title: string;
  durationMs: number;
  bitrateKbps: number;
  /** The master as delivered: media_file is its key; encodings are made from it. */
  master: MasterInfo;
  mediaFile: string;
  previewFile: string;
  fileBytes: number;
  audioSha256: string;
  tagsSha256: string;
  isrc?: string | null;
}

function trackColumns(f: TrackFields, now: string) {
  return {
    release_id: f.releaseId,
    artist_id: f.artistId,
    disc_number: f.discNumber,
    track_number: f.trackNumber,
    title: f.title,
    duration_ms: f.durationMs,
    bitrate_kbps: f.bitrateKbps,
    master_format: f.master.format,
    sample_rate: f.master.sampleRate,
    bit_depth: f.master.bitDepth,
    channels: f.master.channels,
    media_file: f.mediaFile,
    preview_file: f.previewFile,
    file_bytes: f.fileBytes,
    tags_sha256: f.tagsSha256,
    isrc: f.isrc ?? null,
    updated_at: now,
  };
}

export async function insertTrack(tx: Tx, f: TrackFields, now: string, terms: SearchTermWriter = termsNow): Promise<number> {
  const id = insertedId(
    await tx
      .insertInto('tracks')
      .values({ ...trackColumns(f, now), audio_sha256: f.audioSha256, created_at: now })
      .executeTakeFirstOrThrow(),
  );
  await terms.add(tx, 'track', id, `${f.title} ${f.artistName}`);
  return id;
}

export async function updateTrack(tx: Tx, id: number, f: TrackFields, now: string, terms: SearchTermWriter = termsNow): Promise<void> {
  await tx.updateTable('tracks').set(trackColumns(f, now)).where('id', '=', id).execute();
  await terms.replace(tx, 'track', id, `${f.title} ${f.artistName}`);
}

/**
 * Album, EP or single: the tag's word when a file gives one, else judged by the number of tracks on
 * sale (counted in the same statement). A track a DDEX update withdrew (withdrawn_at) is on no page
 * and cannot be bought, so it does not count.
 */
export async function settleReleaseKind(tx: Tx, releaseId: number, tagged: ReleaseKind | undefined): Promise<void> {
  const trackCount = sql<number>`(select count(*) from tracks where tracks.release_id = ${releaseId} and tracks.withdrawn_at is null)`;
  const counted = sql<ReleaseKind>`case when ${trackCount} <= 3 then 'single' when ${trackCount} <= 6 then 'ep' else 'album' end`;
  await tx
    .updateTable('releases')
    .set({ kind: tagged ?? counted })
    .where('id', '=', releaseId)
    .execute();
}

/**
 * After a retag moved tracks away: an empty release disappears (or is hidden when an order still
 * points at it), and so does an artist left with nothing.
 */
export async function removeIfEmpty(tx: Tx, releaseId: number, artistIds: number[], terms: SearchTermWriter = termsNow): Promise<void> {
  const track = await tx.selectFrom('tracks').select('id').where('release_id', '=', releaseId).limit(1).executeTakeFirst();
  if (!track) {
    const sold = await tx.selectFrom('order_items').select('id').where('release_id', '=', releaseId).limit(1).executeTakeFirst();
    if (sold) await tx.updateTable('releases').set({ hidden: 1 }).where('id', '=', releaseId).execute();
    else {
      await terms.remove(tx, 'release', releaseId);
      await tx.deleteFrom('releases').where('id', '=', releaseId).execute();
    }
  }
  for (const artistId of artistIds) {
    const used =
      (await tx.selectFrom('releases').select('id').where('artist_id', '=', artistId).limit(1).executeTakeFirst()) ??
      (await tx.selectFrom('tracks').select('id').where('artist_id', '=', artistId).limit(1).executeTakeFirst());
    if (!used) {
      await terms.remove(tx, 'artist', artistId);
      await tx.deleteFrom('artists').where('id', '=', artistId).execute();
    }
  }
}

export async function replaceSearchTerms(tx: Tx, kind: SearchKind, entityId: number, text: string): Promise<void> {
  await deleteSearchTerms(tx, kind, entityId);
  await insertSearchTerms(tx, kind, entityId, text);
}

async function deleteSearchTerms(tx: Tx, kind: SearchKind, entityId: number): Promise<void> {
  await tx.deleteFrom('search_terms').where('kind', '=', kind).where('entity_id', '=', entityId).execute();
}

type SearchTermRow = { term: string; kind: SearchKind; entity_id: number };
const termRows = (kind: SearchKind, entityId: number, text: string): SearchTermRow[] =>
  searchWords(text).map((term) => ({ term, kind, entity_id: entityId }));

/** The search terms of a row just inserted (it has none to replace). */
async function insertSearchTerms(tx: Tx, kind: SearchKind, entityId: number, text: string): Promise<void> {
  await insertTermRows(tx, termRows(kind, entityId, text));
}

/** In pieces of 1,000 rows (3,000 parameters), well under either database's limit. */
async function insertTermRows(tx: Tx, rows: SearchTermRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 1000)
    await tx
      .insertInto('search_terms')
      .values(rows.slice(i, i + 1000))
      .execute();
}

/** How the catalogue writers keep search terms: at once (termsNow), or kept for one statement at a batch's end. */
export interface SearchTermWriter {
  /** The terms of a row just inserted (it has none to replace). */
  add(tx: Tx, kind: SearchKind, entityId: number, text: string): Promise<void>;
  replace(tx: Tx, kind: SearchKind, entityId: number, text: string): Promise<void>;
  remove(tx: Tx, kind: SearchKind, entityId: number): Promise<void>;
}

export const termsNow: SearchTermWriter = { add: insertSearchTerms, replace: replaceSearchTerms, remove: deleteSearchTerms };

/**
 * Search terms of new rows held back and written in one statement when the batch ends (the import
 * bench: one statement fewer per file). A removal drops what is held for that row as well as what
 * is stored, so a row added and then removed in the same batch leaves no terms.
 */
export class PendingSearchTerms implements SearchTermWriter {
  constructor(private rows: SearchTermRow[] = []) {}

  copy(): PendingSearchTerms {
    return new PendingSearchTerms([...this.rows]);
  }

  async add(_tx: Tx, kind: SearchKind, entityId: number, text: string): Promise<void> {
    this.rows.push(...termRows(kind, entityId, text));
  }

  async replace(tx: Tx, kind: SearchKind, entityId: number, text: string): Promise<void> {
    await this.remove(tx, kind, entityId);
    await this.add(tx, kind, entityId, text);
  }

  async remove(tx: Tx, kind: SearchKind, entityId: number): Promise<void> {
    this.rows = this.rows.filter((r) => r.kind !== kind || r.entity_id !== entityId);
    await deleteSearchTerms(tx, kind, entityId);
  }

  async write(tx: Tx): Promise<void> {
    await insertTermRows(tx, this.rows);
    this.rows = [];
  }
}
