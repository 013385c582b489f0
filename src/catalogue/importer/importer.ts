import fs from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../../db/database.js';
import type { DatePrecision } from '../../db/schema.js';
import { toDbTime } from '../../db/dialect.js';
import type { MediaStore } from '../media-store.js';
import { NotMp3Error } from '../mp3/frames.js';
import { slugify } from '../words.js';
import { readMp3, UnusableFileError, type ImportedFile } from './read-file.js';
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

/**
 * Imports a folder tree of MP3 files. Each file is its own transaction: a broken file is reported
 * and skipped, the rest go on, and running the same import twice changes nothing.
 */
export function createImporter(deps: { db: Db; media: MediaStore; clock?: () => Date; labels?: ImportLabels }) {
  const { db, media, clock = () => new Date() } = deps;
  const labels = deps.labels ?? {};

  /** The file's label tag, else the --label option, else the store's own label. */
  async function labelFor(tx: Parameters<typeof labelIdByName>[0], tagged: string | undefined, at: Date): Promise<number> {
    const name = tagged ?? labels.fallback;
    return name ? labelIdByName(tx, name, at) : ownLabelId(tx, labels.ownLabelName ?? 'Own label', at);
  }

  /** Reads and parses one file (disk and CPU, no database); null when it is too large to take. */
  async function readTrack(file: string): Promise<ImportedFile | null> {
    const stat = await fs.stat(file);
    if (stat.size > MAX_FILE_BYTES) return null;
    return readMp3(await fs.readFile(file), path.basename(file, path.extname(file)));
  }

  async function importFile(track: ImportedFile, folderCover: string | null): Promise<Outcome> {
    const existing = await sql.findTrackByAudio(db, track.audioSha256);
    if (existing && existing.tags_sha256 === track.tagsSha256) return 'unchanged';

    const stored = await storeMedia(track, folderCover);
    const at = clock();
    const now = toDbTime(at);
    await db.transaction().execute(async (tx) => {
      const albumArtistId = await sql.findOrCreateArtist(tx, track.tags.albumArtist, now);
      const trackArtistId = track.tags.artist === track.tags.albumArtist ? albumArtistId : await sql.findOrCreateArtist(tx, track.tags.artist, now);
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
    const [mediaFile, previewFile] = await Promise.all([
      media.saveTrack(track.audioSha256, track.bytes),
      media.savePreview(track.audioSha256, track.preview),
    ]);
    let coverFile: string | null = null;
    if (track.cover) coverFile = await media.saveCover(track.cover.data, track.cover.extension);
    else if (folderCover) coverFile = await media.saveCover(await fs.readFile(folderCover), path.extname(folderCover).slice(1).toLowerCase().replace('jpeg', 'jpg'));
    return { mediaFile, previewFile, coverFile };
  }

  return {
    async importFolder(dir: string, options: ImportOptions = {}): Promise<ImportSummary> {
      const { mp3s, others, covers } = await listFiles(dir);
      const summary: ImportSummary = { added: 0, updated: 0, unchanged: 0, skipped: [] };
      const skip = (file: string, reason: string) => {
        summary.skipped.push({ file: path.relative(dir, file) || path.basename(file), reason });
        options.onFile?.(file, 'skipped');
      };
      others.forEach((file) => summary.skipped.push({ file: path.relative(dir, file), reason: 'not an MP3 file' }));
      options.onStart?.(mp3s.length);
      // The next file is read and parsed while this one's rows are written, so disk and CPU work
      // overlaps the database's (the import bench: a third of the time was spent waiting on MySQL).
      const read = (file: string) => readTrack(file).then((track) => ({ track }), (error: unknown) => ({ error }));
      let next = mp3s.length > 0 ? read(mp3s[0]!) : undefined;
      for (const [i, file] of mp3s.entries()) {
        const current = await next!;
        next = i + 1 < mp3s.length ? read(mp3s[i + 1]!) : undefined;
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
          skip(file, reasonFor(error));
        }
      }
      return summary;
    },
  };
}

function reasonFor(error: unknown): string {
  if (error instanceof NotMp3Error) return `not a readable MP3 (${error.message})`;
  if (error instanceof UnusableFileError) return `cannot be sold: ${error.message}`;
  const e = error as { code?: string; message?: string };
  if (e.code === 'EACCES') return 'cannot be read (permission denied)';
  return `could not be imported (${e.message ?? String(error)})`;
}

async function listFiles(dir: string) {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  const mp3s: string[] = [];
  const others: string[] = [];
  const covers = new Map<string, string>();
  for (const entry of entries) {
    if (!entry.isFile() || entry.name.startsWith('.')) continue;
    const file = path.join(entry.parentPath, entry.name);
    if (/\.mp3$/i.test(entry.name)) mp3s.push(file);
    else if (FOLDER_COVER.test(entry.name)) covers.set(entry.parentPath, file);
    else others.push(file);
  }
  mp3s.sort();
  return { mp3s, others: others.sort(), covers };
}

export type Importer = ReturnType<typeof createImporter>;

/** A tag's date as the releases table keeps it: a full date to sort by, and how much of it is known. */
export function storedReleaseDate(date: string | undefined): { releaseDate: string | null; releaseDatePrecision: DatePrecision } {
  if (!date) return { releaseDate: null, releaseDatePrecision: 'day' };
  if (date.length === 4) return { releaseDate: `${date}-01-01`, releaseDatePrecision: 'year' };
  if (date.length === 7) return { releaseDate: `${date}-01`, releaseDatePrecision: 'month' };
  return { releaseDate: date, releaseDatePrecision: 'day' };
}
