import path from 'node:path';
import archiver from 'archiver';
import { Router, type Request } from 'express';
import type { Db } from '../db/database.js';
import { toDbTime } from '../db/dialect.js';
import { HttpError } from '../web/errors.js';
import { holdsNothing, type DownloadAccess, type DownloadHolder } from './access.js';
import { safeFileName, trackFileName, zipEntryName } from './file-names.js';
import { library, logDownload, ownedTrack } from './repository.js';

export interface DownloadDeps {
  db: Db;
  mediaDir: string;
  clock: () => Date;
  /** Who may download what (access.ts): the signed-in customer, and the browser that just paid. */
  access: DownloadAccess;
}

/**
 * Read size for a track file: Node's 64 KB default means 160 reads and socket writes per 10 MB
 * track, and those calls were most of the store's CPU in the download bench; 256 KB quarters
 * them for at most 256 KB more memory per download in flight.
 */
const FILE_CHUNK_BYTES = 256 * 1024;

const notFound = () => new HttpError(404, 'We could not find that download. It may not be yours, or the order was refunded.');

/** The signed-in customer and this browser's recent paid orders; refused at once when there are neither. */
function holderOf(req: Request, access: DownloadAccess): DownloadHolder {
  const holder = access.holderOf(req);
  if (holdsNothing(holder)) throw new HttpError(401, 'Please sign in to download your music.');
  return holder;
}

function idParam(value: string | undefined, pattern: RegExp): number {
  const id = Number(pattern.exec(value ?? '')?.[1]);
  if (!Number.isSafeInteger(id) || id < 1) throw notFound();
  return id;
}

/** A request for the start of a file: the first of a resumed download's requests is the download. */
const startsAtZero = (req: Request) => !req.headers.range || /^bytes=0-/.test(req.headers.range);

/** Downloads check ownership on every request; file paths come only from the database. */
export function downloadRoutes({ db, mediaDir, clock, access }: DownloadDeps): Router {
  const router = Router();
  const mediaRoot = path.resolve(mediaDir);

  router.get('/download/track/:id', async (req, res) => {
    const track = await ownedTrack(db, holderOf(req, access), idParam(req.params.id, /^(\d{1,12})$/));
    if (!track) throw notFound();
    if (startsAtZero(req)) await logDownload(db, { customerId: track.customer_id, trackId: track.id, releaseId: null, at: toDbTime(clock()) });
    res.attachment(trackFileName(track.artist, track.title));
    // send() answers Range requests, so an interrupted download resumes where it stopped. It
    // hands its options on to fs.createReadStream, which is how highWaterMark (not in Express's
    // types, hence no object literal here) sets the read size.
    const fileOptions = { root: mediaRoot, highWaterMark: FILE_CHUNK_BYTES, headers: { 'Content-Type': 'audio/mpeg', 'Cache-Control': 'private, no-store' } };
    res.sendFile(track.media_file, fileOptions);
  });

  router.get('/download/release/:file', async (req, res) => {
    const holder = holderOf(req, access);
    const releaseId = idParam(req.params.file, /^(\d{1,12})\.zip$/);
    const tracks = (await library(db, holder)).filter((t) => t.release_id === releaseId);
    if (tracks.length === 0) throw notFound();
    const first = tracks[0]!;
    const folder = `${first.release_artist} - ${first.release_title}`;
    await logDownload(db, { customerId: Number(first.customer_id), trackId: null, releaseId, at: toDbTime(clock()) });
    res.attachment(`${safeFileName(folder)}.zip`);
    res.setHeader('Cache-Control', 'private, no-store');
    // MP3s do not compress: store them, and stream the archive as it is built.
    const zip = archiver('zip', { store: true });
    zip.on('error', (error: Error) => res.destroy(error));
    zip.pipe(res);
    const multiDisc = new Set(tracks.map((t) => t.disc_number)).size > 1;
    for (const track of tracks) {
      zip.file(path.join(mediaRoot, track.media_file), { name: zipEntryName(folder, track.disc_number, multiDisc, track.track_number, track.title) });
    }
    if (first.cover_file) zip.file(path.join(mediaRoot, first.cover_file), { name: `${safeFileName(folder)}/cover${path.extname(first.cover_file)}` });
    await zip.finalize();
  });

  return router;
}
