import { LRUCache } from 'lru-cache';
import type { DownloadFormatId } from '../config.js';
import type { Db } from '../db/database.js';
import { toDbTime } from '../db/dialect.js';
import type { EncodingStatus, MasterFormat } from '../db/schema.js';
import { encodingInputs, encodingKey, findEncoding, queueEncoding, type EncodingInputs } from './encodings.js';
import { chooseFormat, FORMATS, offeredFormats, type FormatId } from './formats.js';
import { keys, sha256Hex } from './keys.js';
import { buildZip, findZip, queueZip, type ZipEntry } from './zips.js';
import type { MediaStorage } from './storage.js';

/** A file ready to hand over, one being made, or one that could not be made. */
export type Prepared =
  { state: 'ready'; key: string; format: FormatId } | { state: 'preparing'; format: FormatId } | { state: 'failed'; format: FormatId };

export interface OwnedTrackFile {
  id: number;
  media_file: string;
  master_format: MasterFormat;
}

/** What a caller that read the track already knows (the download route's one query): no more reads needed. */
export interface KnownEncodings {
  inputs: EncodingInputs;
  encodings: { format: string; output_key: string; status: EncodingStatus }[];
}

/**
 * How long an object seen in object storage is taken to be there without looking again. Looking
 * (a HEAD to the object store) cost more than the rest of a download together; content-addressed
 * objects never change, so only a loss can make the answer wrong, and a lost file is then noticed
 * (and made again) at the first download after this long, on each process; until then the object
 * store answers the presigned URL with its 404.
 */
export const PRESENCE_TTL_MS = 5 * 60_000;

/**
 * What the store sells a track as, and the file for each choice: an MP3 import is its own file;
 * a lossless master's formats are made on first request by the encoding queue, then kept.
 */
export function createMediaService(deps: { db: Db; storage: MediaStorage; onSale: DownloadFormatId[]; clock: () => Date }) {
  const { db, storage, onSale, clock } = deps;

  const offered = (masterFormat: MasterFormat) => offeredFormats(masterFormat, onSale);
  const seen = new LRUCache<string, number>({ max: 20_000 });

  /**
   * Whether an object is in storage. In the local folder that is a stat, looked at every time; in
   * object storage a HEAD, looked at once per PRESENCE_TTL_MS per key, not on every download.
   */
  async function present(key: string): Promise<boolean> {
    const now = clock().getTime();
    const at = seen.get(key);
    if (storage.kind === 's3' && at !== undefined && now - at < PRESENCE_TTL_MS) return true;
    if (!(await storage.stat(key))) {
      seen.delete(key);
      return false;
    }
    seen.set(key, now);
    return true;
  }

  /** The file for a track in a format it is offered in: ready (its key), or queued to be made. */
  async function trackFile(track: OwnedTrackFile, format: FormatId, known?: KnownEncodings): Promise<Prepared> {
    if (format === 'mp3') return { state: 'ready', key: track.media_file, format };
    const inputs = known ? known.inputs : await encodingInputs(db, track.id);
    if (!inputs) return { state: 'failed', format };
    const key = encodingKey(format, inputs);
    const row = known ? known.encodings.find((e) => e.format === format) : await findEncoding(db, track.id, format);
    if (row?.output_key === key) {
      if (row.status === 'failed') return { state: 'failed', format };
      if (row.status === 'ready' && (await present(key))) return { state: 'ready', key, format };
      if (row.status === 'pending' || row.status === 'working') return { state: 'preparing', format };
    }
    // New, retagged, or lost from storage: (re)queued, and made by the next free worker.
    await queueEncoding(db, track.id, format, key, toDbTime(clock()));
    return { state: 'preparing', format };
  }

  /**
   * The release's ZIP in the chosen format (each track in it, or in the nearest it is offered in),
   * kept under a key made from its contents (a changed track or cover is a new ZIP). The local
   * folder builds it here, on first request; object storage has the media worker make it (the
   * buyer sees "preparing"), so the request never waits on packing and uploading a whole release.
   */
  async function releaseZip(
    tracks: (OwnedTrackFile & { release_id: number; disc_number: number; track_number: number; title: string })[],
    names: { entry: (track: (typeof tracks)[number], extension: string) => string; cover: string },
    coverKey: string | null,
    wish: string | null | undefined,
  ): Promise<Prepared & { format: FormatId }> {
    const files = await Promise.all(
      tracks.map(async (track) => ({ track, file: await trackFile(track, chooseFormat(offered(track.master_format), wish)!) })),
    );
    const format = files[0]!.file.format;
    if (files.some((f) => f.file.state === 'failed')) return { state: 'failed', format };
    if (files.some((f) => f.file.state !== 'ready')) return { state: 'preparing', format };
    const entries: ZipEntry[] = files.map(({ track, file }) => ({
      key: (file as { key: string }).key,
      name: names.entry(track, FORMATS[file.format].extension),
    }));
    if (coverKey) entries.push({ key: coverKey, name: names.cover });
    const key = keys.releaseZip(sha256Hex(JSON.stringify(entries)));
    if (storage.kind !== 's3') {
      if (!(await present(key))) await buildZip(storage, key, entries);
      return { state: 'ready', key, format };
    }
    const row = await findZip(db, key);
    if (row?.status === 'failed') return { state: 'failed', format };
    if (row?.status === 'ready' && (await present(key))) return { state: 'ready', key, format };
    if (row?.status === 'pending' || row?.status === 'working') return { state: 'preparing', format };
    await queueZip(db, { key, releaseId: tracks[0]!.release_id, format, entries }, toDbTime(clock()));
    return { state: 'preparing', format };
  }

  return { storage, onSale, offered, trackFile, releaseZip };
}

export type MediaService = ReturnType<typeof createMediaService>;
