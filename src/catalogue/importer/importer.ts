import fs from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../../db/database.js';
import type { DatePrecision } from '../../db/schema.js';
import { toDbTime } from '../../db/dialect.js';
import type { MediaFiles } from '../../media/media-files.js';
import { NotMp3Error } from '../mp3/frames.js';
import { slugify } from '../words.js';
import { checkLength, readMp3, sha256, tagsHash, UnusableFileError, type ImportedFile } from './read-file.js';
import { BadMasterError, readLossless } from './read-lossless.js';
import * as sql from './repository.js';
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

type Outcome = 'added' | 'updated' | 'unchanged';

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
 * to decode completely, sold in the formats of DOWNLOAD_FORMATS). Each file is its own
 * transaction: a broken file is reported and skipped, the rest go on, nothing is half-imported,
 * and running the same import twice changes nothing.
 *
 * Entry points: importFolder (a tree, as `npx store import` and the admin's zip upload use it) and
 * importFile (one file, for a feed that knows its own release and track details).
 */
export function createImporter(deps: ImporterDeps) {
  const { db, media, clock = () => new Date(), ffmpegPath = 'ffmpeg' } = deps;
  const labels = deps.labels ?? {};

  /** The file's label tag, else the --label option, else the store's own label. */
  async function labelFor(tx: Parameters<typeof labelIdByName>[0], tagged: string | undefined, at: Date): Promise<number> {
    const name = tagged ?? labels.fallback;
    return name ? labelIdByName(tx, name, at) : ownLabelId(tx, labels.ownLabelName ?? 'Own label', at);
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

  async function importFile(track: ImportedFile, folderCover: string | null): Promise<Outcome> {
    const existing = await sql.findTrackByAudio(db, track.audioSha256);
    if (existing && existing.tags_sha256 === track.tagsSha256) return 'unchanged';

    const stored = await storeMedia(track, folderCover);
    const at = clock();
    const now = toDbTime(at);
    await db.transaction().execute(async (tx) => {
      const albumArtistId = await sql.findOrCreateArtist(tx, track.tags.albumArtist, now);
      const trackArtistId =
        track.tags.artist === track.tags.albumArtist ? albumArtistId : await sql.findOrCreateArtist(tx, track.tags.artist, now);
      const album = track.tags.album ?? track.tags.title;
      const releaseId = await sql.upsertRelease(
        tx,
        {
          importKey: `${slugify(track.tags.albumArtist)}/${slugify(album)}`.slice(0, 255),
          title: album,
          artistId: albumArtistId,
          artistName: track.tags.albumArtist,
          genreId: await sql.findOrCreateGenre(tx, track.tags.genre),
          ...storedReleaseDate(track.tags.date),
          coverFile: stored.coverFile,
          labelId: await labelFor(tx, track.tags.label, at),
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
        fileBytes: track.bytes.length,
        audioSha256: track.audioSha256,
        tagsSha256: track.tagsSha256,
        isrc: track.tags.isrc ?? null,
      };
      if (existing) await sql.updateTrack(tx, existing.id, fields, now);
      else await sql.insertTrack(tx, fields, now);
      await sql.settleReleaseKind(tx, releaseId, track.tags.releaseType);
      if (existing && existing.release_id !== releaseId) {
        await sql.removeIfEmpty(tx, existing.release_id, [existing.artist_id]);
        await sql.settleReleaseKind(tx, existing.release_id, undefined).catch(() => {});
      }
    });
    return existing ? 'updated' : 'added';
  }

  async function storeMedia(track: ImportedFile, folderCover: string | null) {
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

  return {
    /**
     * Imports one audio file (MP3, FLAC or WAV). `tags` overrides what the file's own tags say;
     * `cover` is the release's cover when the file embeds none. Throws with a reason (see
     * skipReason) when the file cannot be sold; writes nothing in that case.
     */
    async importFile(file: string, options: { tags?: Partial<ImportedFile['tags']>; cover?: string } = {}): Promise<Outcome> {
      const track = await readTrack(file);
      if (track === null) throw new UnusableFileError('the file is larger than 500 MB');
      return importFile(withOverrides(track, options.tags), options.cover ?? null);
    },

    async importFolder(dir: string, options: ImportOptions = {}): Promise<ImportSummary> {
      const { audioFiles, others, covers } = await listFiles(dir);
      const summary: ImportSummary = { added: 0, updated: 0, unchanged: 0, skipped: [] };
      const skip = (file: string, reason: string) => {
        summary.skipped.push({ file: path.relative(dir, file) || path.basename(file), reason });
        options.onFile?.(file, 'skipped');
      };
      others.forEach((file) => summary.skipped.push({ file: path.relative(dir, file), reason: 'not an MP3, FLAC or WAV file' }));
      options.onStart?.(audioFiles.length);
      // The next file is read and parsed while this one's rows are written, so disk and CPU work
      // overlaps the database's (the import bench: a third of the time was spent waiting on MySQL).
      const read = (file: string) =>
        readTrack(file).then(
          (track) => ({ track }),
          (error: unknown) => ({ error }),
        );
      let next = audioFiles.length > 0 ? read(audioFiles[0]!) : undefined;
      for (const [i, file] of audioFiles.entries()) {
        const current = await next!;
        next = i + 1 < audioFiles.length ? read(audioFiles[i + 1]!) : undefined;
        try {
          if ('error' in current) throw current.error;
          if (current.track === null) {
            skip(file, 'the file is larger than 500 MB');
            continue;
          }
          const outcome = await importFile(current.track, covers.get(path.dirname(file)) ?? null);
          summary[outcome]++;
          options.onFile?.(file, outcome);
        } catch (error) {
          skip(file, skipReason(error));
        }
      }
      return summary;
    },
  };
}

/** The report line for a file that was not imported. */
export function skipReason(error: unknown): string {
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
