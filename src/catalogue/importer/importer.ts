import fs from 'node:fs/promises';
import path from 'node:path';
import type { Transaction } from 'kysely';
import type { Db } from '../../db/database.js';
import type { Database, DatePrecision } from '../../db/schema.js';
import { toDbTime } from '../../db/dialect.js';
import type { MediaFiles } from '../../media/media-files.js';
import { NotMp3Error } from '../mp3/frames.js';
import { slugify } from '../words.js';
import { checkLength, readMp3, sha256, tagsHash, UnusableFileError, type ImportedFile } from './read-file.js';
import { BadMasterError, readLossless } from './read-lossless.js';
import * as sql from './repository.js';
import { BatchMemory } from './batch-memory.js';
import { ahead, eachAtMost } from './stages.js';
import { labelIdByName, ownLabelId } from '../../labels/repository.js';

export interface ImportSummary {
  added: number;
  updated: number;
  unchanged: number;
  skipped: { file: string; reason: string }[];
}

export interface ImportOptions {
  onStart?: (total: number) => void;
  onFile?: (file: string, outcome: 'added' | 'updated' | 'unchanged' | 'skipped') => void;
}

type Tx = Transaction<Database>;
type Outcome = 'added' | 'updated' | 'unchanged';
/** What became of one file: its outcome, or the error that kept it out. */
type Result = { outcome: Outcome } | { error: unknown };
/** A file read and parsed, with the folder's cover for a release whose files embed none. */
interface ReadTrack {
  track: ImportedFile;
  folderCover: string | null;
}
/** A file whose media are stored: what its rows need, without its bytes. */
interface StoredTrack {
  track: Omit<ImportedFile, 'bytes' | 'preview' | 'cover'> & { fileBytes: number };
  stored: StoredMedia;
}
type Read = ReadTrack | { error: unknown };
type StoredMedia = { mediaFile: string; previewFile: string; coverFile: string | null };

/** Which label imported releases belong to when their files name none (docs/labels.md). */
export interface ImportLabels {
  /** `--label NAME`: the label of files without a label tag. */
  fallback?: string;
  /** OWN_LABEL_NAME: the store's own label, when neither the tag nor the option names one. */
  ownLabelName?: string;
}

/** Files beside the music that a release may use as its cover when no file embeds one. */
const FOLDER_COVER = /^(cover|folder|front)\.(jpe?g|png)$/i;
const MAX_FILE_BYTES = 500 * 1024 * 1024;
/** The audio files the importer takes: MP3s sold as they are, FLAC and WAV masters. */
const AUDIO_FILE = /\.(mp3|flac|wav)$/i;
/**
 * Files are written in batches, one transaction each with a savepoint per file (see writeBatch): a
 * durable commit per file was most of MySQL's time (docs/benchmarks.md). A batch closes at
 * whichever limit comes first. The two batches after the one being written are read and prepared
 * meanwhile (importFolder), so about two batches' bytes are held at once.
 */
const BATCH = { files: 50, bytes: 16 * 1024 * 1024, ms: 1000 };
/** Media writes in flight at once for a batch (local files or S3 PUTs). */
const MEDIA_WRITES = 4;

export interface ImporterDeps {
  db: Db;
  media: MediaFiles;
  clock?: () => Date;
  /** ffmpeg checks lossless masters and makes their previews; without it only MP3s import. */
  ffmpegPath?: string;
  /** The label of files without a label tag (src/labels/). */
  labels?: ImportLabels;
}

/**
 * Imports audio files: MP3s (sold as they are) and FLAC or WAV masters (kept as delivered, checked
 * to decode completely, sold in the formats of DOWNLOAD_FORMATS). Files are written in batches, one
 * transaction each with a savepoint per file, so each file is atomic: a file that fails is rolled
 * back alone, reported and skipped while the rest go on (writeBatch); nothing is half-imported, and
 * running the same import twice changes nothing.
 *
 * Entry points: importFolder (a tree, as `npx store import` and the admin's zip upload use it) and
 * importFile (one file, for a feed that knows its own release and track details).
 */
export function createImporter(deps: ImporterDeps) {
  const { db, media, clock = () => new Date(), ffmpegPath = 'ffmpeg' } = deps;
  const labels = deps.labels ?? {};

  /** The file's label tag, else the --label option, else the store's own label. */
  async function labelFor(tx: Tx, memory: BatchMemory, tagged: string | undefined, at: Date): Promise<number> {
    const name = tagged ?? labels.fallback;
    return memory.labelId(tagged, () => (name ? labelIdByName(tx, name, at) : ownLabelId(tx, labels.ownLabelName ?? 'Own label', at)));
  }

  /** Reads, checks and parses one file (disk, CPU and ffmpeg, no database); null when it is too large to take. */
  async function readTrack(file: string): Promise<ImportedFile | null> {
    const stat = await fs.stat(file);
    if (stat.size > MAX_FILE_BYTES) return null;
    const bytes = await fs.readFile(file);
    const title = path.basename(file, path.extname(file));
    const kind = path.extname(file).slice(1).toLowerCase();
    const track =
      kind === 'flac' || kind === 'wav' ? await readLossless(file, bytes, kind, title, ffmpegPath) : await readMp3(bytes, title);
    checkLength(track.durationMs);
    return track;
  }

  /**
   * Gets files already read ready to write: the tracks held are looked up in one statement, so an
   * unchanged file costs nothing more, and the others' media are stored. Each comes back with its
   * stored media, or with its result when there is nothing to write. The lookup only spares media
   * writes: writeBatch looks again inside its transaction (the previous batch may still be writing).
   */
  async function prepare(items: ReadTrack[]): Promise<(StoredTrack | Result)[]> {
    let held: Map<string, sql.ExistingTrack>;
    try {
      held = await sql.findTracksByAudio(
        db,
        items.map((item) => item.track.audioSha256),
      );
    } catch (error) {
      return items.map(() => ({ error }));
    }
    const prepared: (StoredTrack | Result)[] = [];
    await eachAtMost(MEDIA_WRITES, items.entries(), async ([i, item]) => {
      prepared[i] =
        held.get(item.track.audioSha256)?.tags_sha256 === item.track.tagsSha256
          ? { outcome: 'unchanged' }
          : await storeMedia(item.track, item.folderCover).then(
              (stored) => ({ track: withoutBytes(item.track), stored }),
              (error: unknown) => ({ error }),
            );
    });
    return prepared;
  }

  /** Writes the files prepare() got ready, keeping the results it gave the others, in order. */
  async function writePrepared(prepared: (StoredTrack | Result)[]): Promise<Result[]> {
    const ready = prepared.flatMap((p) => ('stored' in p ? [p] : []));
    const written = (await writeBatch(ready)).values();
    return prepared.map((p) => ('stored' in p ? written.next().value! : p));
  }

  /**
   * Writes the rows of files whose media are stored: one transaction, a savepoint per file. A file
   * that fails is rolled back to its savepoint and reported; the others commit together. When the
   * transaction itself fails (a deadlock, a lost connection, the commit), each half of the batch is
   * written again on its own, down to single files.
   */
  async function writeBatch(items: StoredTrack[]): Promise<Result[]> {
    if (items.length === 0) return [];
    try {
      return await db.transaction().execute(async (tx) => {
        let memory = await BatchMemory.start(
          tx,
          items.map((item) => item.track.audioSha256),
        );
        const results: Result[] = [];
        for (const item of items) {
          const scratch = memory.copy();
          await sql.savepoint(tx);
          try {
            results.push({ outcome: await writeTrack(tx, scratch, item) });
            await sql.releaseSavepoint(tx);
            memory = scratch;
          } catch (error) {
            await sql.rollbackToSavepoint(tx);
            results.push({ error });
          }
        }
        await memory.finish(tx);
        return results;
      });
    } catch (error) {
      if (items.length === 1) return [{ error }];
      const half = Math.ceil(items.length / 2);
      return [...(await writeBatch(items.slice(0, half))), ...(await writeBatch(items.slice(half)))];
    }
  }

  /** One file's rows, inside its savepoint; `memory` knows what the batch's transaction has read and written. */
  async function writeTrack(tx: Tx, memory: BatchMemory, { track, stored }: StoredTrack): Promise<Outcome> {
    const existing = memory.tracks.get(track.audioSha256);
    if (existing && existing.tags_sha256 === track.tagsSha256) return 'unchanged';
    const at = clock();
    const now = toDbTime(at);
    const albumArtistId = await memory.artistId(tx, track.tags.albumArtist, now);
    const trackArtistId = track.tags.artist === track.tags.albumArtist ? albumArtistId : await memory.artistId(tx, track.tags.artist, now);
    const album = track.tags.album ?? track.tags.title;
    const releaseId = await memory.release(
      tx,
      {
        importKey: `${slugify(track.tags.albumArtist)}/${slugify(album)}`.slice(0, 255),
        title: album,
        artistId: albumArtistId,
        artistName: track.tags.albumArtist,
        genreId: await memory.genreId(tx, track.tags.genre),
        ...storedReleaseDate(track.tags.date),
        coverFile: stored.coverFile,
        labelId: await labelFor(tx, memory, track.tags.label, at),
        icpn: track.tags.icpn,
        catalogueNumber: track.tags.catalogueNumber,
        cLine: track.tags.cLine,
        pLine: track.tags.pLine,
      },
      now,
    );
    const fields: sql.TrackFields = {
      releaseId,
      artistId: trackArtistId,
      artistName: track.tags.artist,
      discNumber: track.tags.discNumber,
      trackNumber: track.tags.trackNumber ?? 1,
      title: track.tags.title,
      durationMs: track.durationMs,
      bitrateKbps: track.bitrateKbps,
      master: track.master,
      mediaFile: stored.mediaFile,
      previewFile: stored.previewFile,
      fileBytes: track.fileBytes,
      audioSha256: track.audioSha256,
      tagsSha256: track.tagsSha256,
      isrc: track.tags.isrc ?? null,
    };
    const id = existing ? existing.id : await sql.insertTrack(tx, fields, now, memory.terms);
    if (existing) await sql.updateTrack(tx, existing.id, fields, now, memory.terms);
    memory.tracks.set(track.audioSha256, { id, tags_sha256: track.tagsSha256, release_id: releaseId, artist_id: trackArtistId });
    memory.settleKind(releaseId, track.tags.releaseType);
    if (existing && existing.release_id !== releaseId) {
      await sql.removeIfEmpty(tx, existing.release_id, [existing.artist_id], memory.terms);
      memory.movedAway(existing.release_id);
    }
    return existing ? 'updated' : 'added';
  }

  async function storeMedia(track: ImportedFile, folderCover: string | null): Promise<StoredMedia> {
    const format = track.master.format;
    const [mediaFile, previewFile] = await Promise.all([
      format === 'mp3'
        ? media.saveMp3Master(track.audioSha256, track.bytes)
        : media.saveLosslessMaster(sha256(track.bytes), format, track.bytes),
      media.savePreview(track.audioSha256, track.preview),
    ]);
    let coverFile: string | null = null;
    if (track.cover) coverFile = await media.saveCover(track.cover.data, track.cover.extension);
    else if (folderCover)
      coverFile = await media.saveCover(
        await fs.readFile(folderCover),
        path.extname(folderCover).slice(1).toLowerCase().replace('jpeg', 'jpg'),
      );
    return { mediaFile, previewFile, coverFile };
  }

  /** Overrides a feed gives for what the file's own tags say (a label's metadata wins over the file's). */
  function withOverrides(track: ImportedFile, overrides: Partial<ImportedFile['tags']> | undefined): ImportedFile {
    if (!overrides) return track;
    const tags = { ...track.tags, ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) };
    return { ...track, tags, tagsSha256: tagsHash(tags, track.cover) };
  }

  /** The files of a folder in batches (see BATCH), read and parsed one file at a time. */
  async function* readBatches(files: string[], covers: Map<string, string>): AsyncGenerator<{ file: string; read: Read }[]> {
    let next = 0;
    while (next < files.length) {
      const batch: { file: string; read: Read }[] = [];
      const started = Date.now();
      let bytes = 0;
      while (next < files.length && batch.length < BATCH.files && bytes < BATCH.bytes && Date.now() - started < BATCH.ms) {
        const file = files[next++]!;
        const read: Read = await readTrack(file).then(
          (track) => (track ? { track, folderCover: covers.get(path.dirname(file)) ?? null } : { error: new TooLargeError(file) }),
          (error: unknown) => ({ error }),
        );
        bytes += 'track' in read ? read.track.bytes.length : 0;
        batch.push({ file, read });
      }
      yield batch;
    }
  }

  /** Each batch with its readable files prepared (prepare), the others with the reason they could not be read. */
  async function* prepareBatches(batches: AsyncIterable<{ file: string; read: Read }[]>) {
    for await (const batch of batches) {
      const prepared = (await prepare(batch.flatMap(({ read }) => ('track' in read ? [read] : [])))).values();
      yield batch.map(({ file, read }) => ({ file, prepared: 'track' in read ? prepared.next().value! : read }));
    }
  }

  return {
    /**
     * Imports one audio file (MP3, FLAC or WAV). `tags` overrides what the file's own tags say;
     * `cover` is the release's cover when the file embeds none. Throws with a reason (see
     * skipReason) when the file cannot be sold; writes nothing in that case.
     */
    async importFile(file: string, options: { tags?: Partial<ImportedFile['tags']>; cover?: string } = {}): Promise<Outcome> {
      const track = await readTrack(file);
      if (track === null) throw new UnusableFileError('the file is larger than 500 MB');
      const [result] = await writePrepared(
        await prepare([{ track: withOverrides(track, options.tags), folderCover: options.cover ?? null }]),
      );
      if ('error' in result!) throw result.error;
      return result!.outcome;
    },

    async importFolder(dir: string, options: ImportOptions = {}): Promise<ImportSummary> {
      const { audioFiles, others, covers } = await listFiles(dir);
      const summary: ImportSummary = { added: 0, updated: 0, unchanged: 0, skipped: [] };
      const report = (file: string, result: Result) => {
        if ('outcome' in result) summary[result.outcome]++;
        else summary.skipped.push({ file: path.relative(dir, file) || path.basename(file), reason: skipReason(result.error) });
        options.onFile?.(file, 'outcome' in result ? result.outcome : 'skipped');
      };
      others.forEach((file) => summary.skipped.push({ file: path.relative(dir, file), reason: 'not an MP3, FLAC or WAV file' }));
      options.onStart?.(audioFiles.length);
      // Three stages side by side: while one batch is written, the next has its media stored and
      // the one after is read and parsed, so disk, CPU and database work overlap.
      const batches = ahead(prepareBatches(ahead(readBatches(audioFiles, covers), 1)), 1);
      for await (const batch of batches) {
        const written = (await writePrepared(batch.map((b) => b.prepared))).values();
        for (const { file } of batch) report(file, written.next().value!);
      }
      return summary;
    },
  };
}

function withoutBytes({ bytes, preview: _preview, cover: _cover, ...track }: ImportedFile): StoredTrack['track'] {
  return { ...track, fileBytes: bytes.length };
}

/** A file over MAX_FILE_BYTES: not read at all. */
class TooLargeError extends Error {}

/** The report line for a file that was not imported. */
export function skipReason(error: unknown): string {
  if (error instanceof TooLargeError) return 'the file is larger than 500 MB';
  if (error instanceof NotMp3Error) return `not a readable MP3 (${error.message})`;
  if (error instanceof BadMasterError) return `not a usable master: ${error.message}`;
  if (error instanceof UnusableFileError) return `cannot be sold: ${error.message}`;
  const e = error as { code?: string; message?: string };
  if (e.code === 'EACCES') return 'cannot be read (permission denied)';
  return `could not be imported (${e.message ?? String(error)})`;
}

async function listFiles(dir: string) {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  const audioFiles: string[] = [];
  const others: string[] = [];
  const covers = new Map<string, string>();
  for (const entry of entries) {
    if (!entry.isFile() || entry.name.startsWith('.')) continue;
    const file = path.join(entry.parentPath, entry.name);
    if (AUDIO_FILE.test(entry.name)) audioFiles.push(file);
    else if (FOLDER_COVER.test(entry.name)) covers.set(entry.parentPath, file);
    else others.push(file);
  }
  audioFiles.sort();
  return { audioFiles, others: others.sort(), covers };
}

export type Importer = ReturnType<typeof createImporter>;

/** A tag's date as the releases table keeps it: a full date to sort by, and how much of it is known. */
export function storedReleaseDate(date: string | undefined): { releaseDate: string | null; releaseDatePrecision: DatePrecision } {
  if (!date) return { releaseDate: null, releaseDatePrecision: 'day' };
  if (date.length === 4) return { releaseDate: `${date}-01-01`, releaseDatePrecision: 'year' };
  if (date.length === 7) return { releaseDate: `${date}-01`, releaseDatePrecision: 'month' };
  return { releaseDate: date, releaseDatePrecision: 'day' };
}
