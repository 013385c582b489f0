import path from 'node:path';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { Db } from '../db/database.js';
import { toDbTime } from '../db/dialect.js';
import { deliverObject } from '../media/deliver.js';
import { chooseFormat, FORMATS, isFormatId, type FormatId } from '../media/formats.js';
import type { MediaService, Prepared } from '../media/service.js';
import { HttpError } from '../web/errors.js';
import { holdsNothing, rememberSessionFormat, sessionFormat, type DownloadAccess, type DownloadHolder } from './access.js';
import { safeFileName, trackFileName, zipEntryName } from './file-names.js';
import { downloadableTrack, library, preferredFormat, rememberFormat, type DownloadableTrack } from './repository.js';
import type { SessionPeek } from '../web/session-peek.js';
import type { DownloadLog } from './download-log.js';

export interface DownloadDeps {
  db: Db;
  media: MediaService;
  clock: () => Date;
  /** Who may download what (access.ts): the signed-in customer, and the browser that just paid. */
  access: DownloadAccess;
  /** Who downloaded what and when, written behind the download (download-log.ts). */
  log: DownloadLog;
}

/** A presigned download link lives this long: enough to start (and resume) a download, no longer. */
const DOWNLOAD_URL_SECONDS = 15 * 60;
/** How often the "preparing" page looks again (a meta refresh: no JavaScript needed). */
const PREPARING_REFRESH_SECONDS = 3;

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

/** ?format=flac: a format the store knows, else a 400 (an unknown word is not silently replaced). */
function askedFormat(req: Request): FormatId | undefined {
  const value = req.query.format;
  if (value === undefined) return undefined;
  if (!isFormatId(value)) throw new HttpError(400, 'That download format is not one the store offers.');
  return value;
}

/** The format wanted (asked for now, else the last choice) and whether the choice is new and must be remembered. */
function formatChoice(asked: FormatId | undefined, remembered: string | null): { wished: string | null; changed: boolean } {
  return { wished: asked ?? remembered, changed: asked !== undefined && asked !== remembered };
}

/** A request for the start of a file: the first of a resumed download's requests is the download. */
const startsAtZero = (req: Request) => !req.headers.range || /^bytes=0-/.test(req.headers.range);

/**
 * A download the store cannot make now: 503 with the reason (the error handler keeps its words for
 * 4xx and answers any thrown 5xx as "something went wrong", which would hide what to do).
 */
function unavailable(res: Response, message: string) {
  res.status(503).setHeader('Cache-Control', 'no-store');
  res.render('errors/error', { title: 'Sorry', status: 503, message, robots: 'noindex' });
}

/**
 * Downloads check ownership on every request; what is sent is found from the database only. The
 * customer's format choice (?format=) is remembered for their next download.
 */
export function downloadRoutes({ db, media, clock, access, log }: DownloadDeps): Router {
  const router = Router();

  /**
   * The wanted format: asked for now (and then remembered: on a signed-in customer's row, in the
   * session of a buyer who is not signed in), else the last choice. `remembered` is the customer's
   * choice when the caller has read it already (undefined: not read).
   */
  async function wantedFormat(req: Request, customerId: number | undefined, remembered?: string | null): Promise<string | null> {
    const asked = askedFormat(req);
    if (customerId === undefined) {
      const choice = formatChoice(asked, sessionFormat(req));
      if (choice.changed) rememberSessionFormat(req, choice.wished!);
      return choice.wished;
    }
    const choice = formatChoice(asked, remembered !== undefined ? remembered : await preferredFormat(db, customerId));
    if (choice.changed) await rememberFormat(db, customerId, choice.wished!);
    return choice.wished;
  }

  function notReady(res: Response, prepared: Prepared, what: string) {
    const label = FORMATS[prepared.format].label;
    if (prepared.state === 'failed')
      return unavailable(res, `We could not prepare ${what} as ${label}. We have been told; please try another format or come back later.`);
    res.status(202).setHeader('Cache-Control', 'no-store');
    res.render('downloads/preparing', {
      title: 'Preparing your download',
      robots: 'noindex',
      refreshSeconds: PREPARING_REFRESH_SECONDS,
      what,
      label,
    });
  }

  router.get('/download/track/:id', async (req, res) => {
    const holder = holderOf(req, access);
    // One query: ownership, what the encodings are made from, the queue's rows and the remembered format.
    const track = await downloadableTrack(db, holder, idParam(req.params.id, /^(\d{1,12})$/));
    if (!track) throw notFound();
    const offered = media.offered(track.master_format);
    const wished = await wantedFormat(req, holder.customerId, track.rememberedFormat);
    const format = chooseFormat(offered, wished);
    if (!format)
      return unavailable(res, 'This track cannot be downloaded right now: the store cannot make its formats. Please come back later.');
    const prepared = await media.trackFile(track, format, track);
    if (prepared.state !== 'ready') return notReady(res, prepared, `“${track.title}”`);
    await deliverTrack({ log, media, clock }, req, res, track, format, prepared.key);
  });

  router.get('/download/release/:file', async (req, res) => {
    const holder = holderOf(req, access);
    const releaseId = idParam(req.params.file, /^(\d{1,12})\.zip$/);
    const tracks = (await library(db, holder)).filter((t) => t.release_id === releaseId);
    if (tracks.length === 0) throw notFound();
    const first = tracks[0]!;
    const folder = `${first.release_artist} - ${first.release_title}`;
    const multiDisc = new Set(tracks.map((t) => t.disc_number)).size > 1;
    const prepared = await media.releaseZip(
      tracks,
      {
        entry: (t, extension) => zipEntryName(folder, t.disc_number, multiDisc, t.track_number, t.title, extension),
        cover: first.cover_file ? `${safeFileName(folder)}/cover${path.extname(first.cover_file)}` : '',
      },
      first.cover_file,
      await wantedFormat(req, holder.customerId),
    );
    if (prepared.state !== 'ready') return notReady(res, prepared, `“${first.release_title}”`);
    if (startsAtZero(req)) log.record({ customerId: Number(first.customer_id), trackId: null, releaseId, at: toDbTime(clock()) });
    await deliverObject(req, res, media.storage, prepared.key, {
      contentType: 'application/zip',
      fileName: `${safeFileName(folder)}.zip`,
      cacheControl: 'private, no-store',
      presignSeconds: DOWNLOAD_URL_SECONDS,
    });
  });

  return router;
}

type TrackDelivery = Pick<DownloadDeps, 'log' | 'media' | 'clock'>;

/** Logs the download (once per download, not per resumed range) and sends the file or the redirect to it. */
async function deliverTrack(
  { log, media, clock }: TrackDelivery,
  req: Request,
  res: Response,
  track: DownloadableTrack,
  format: FormatId,
  key: string,
): Promise<void> {
  if (startsAtZero(req)) log.record({ customerId: track.customer_id, trackId: track.id, releaseId: null, at: toDbTime(clock()) });
  const kind = FORMATS[format];
  await deliverObject(req, res, media.storage, key, {
    contentType: kind.contentType,
    fileName: trackFileName(track.artist, track.title, kind.extension),
    cacheControl: 'private, no-store',
    presignSeconds: DOWNLOAD_URL_SECONDS,
  });
}

/**
 * With object storage a track download is an ownership check and a redirect: answered before the
 * session chain (the bench: the chain was two thirds of a presigned download's CPU), from a session
 * read by primary key that the chain would leave as it is (src/web/session-peek.ts). Only the
 * plain case goes this way: someone who holds something asks for a file that is ready, in a
 * format that needs no session write to remember (a signed-in customer's choice is kept on their
 * row; a buyer who is not signed in keeps theirs in the session, so a new one goes the long way).
 * Anything else (a 404, an unknown format, "preparing", a sign-in that timed out) goes on to the
 * route above, which says so with the whole page.
 */
export function presignedTrackBeforeSession(deps: DownloadDeps & { peek: SessionPeek }): RequestHandler {
  const { db, media, access, peek } = deps;
  const router = Router();
  router.get('/download/track/:id', async (req, res, next) => {
    const trackId = Number(/^(\d{1,12})$/.exec(req.params.id)?.[1]);
    const asked = req.query.format;
    if (media.storage.kind !== 's3' || !Number.isSafeInteger(trackId) || (asked !== undefined && !isFormatId(asked))) return next();
    const session = await peek(req);
    if (!session) return next();
    const holder = access.holderOfSession(session);
    if (holdsNothing(holder)) return next();
    const { customerId } = holder;
    const sessionChoice = formatChoice(asked, session.downloadFormat ?? null);
    if (customerId === undefined && sessionChoice.changed) return next();
    const track = await downloadableTrack(db, holder, trackId);
    if (!track) return next();
    const choice = customerId === undefined ? sessionChoice : formatChoice(asked, track.rememberedFormat);
    if (customerId !== undefined && choice.changed) await rememberFormat(db, customerId, choice.wished!);
    const format = chooseFormat(media.offered(track.master_format), choice.wished);
    const prepared = format ? await media.trackFile(track, format, track) : undefined;
    if (!format || prepared?.state !== 'ready') return next();
    await deliverTrack(deps, req, res, track, format, prepared.key);
  });
  return router;
}
