import type { Request, Response } from 'express';
import { pipeline } from 'node:stream/promises';
import { attachmentHeader, type MediaStorage } from './storage.js';

export interface DeliverOptions {
  contentType: string;
  /** Set for a download: the name the customer's disk gets (Content-Disposition: attachment). */
  fileName?: string;
  /** Cache-Control of the object's response (the file itself, not the redirect to it). */
  cacheControl: string;
  /** How long a presigned URL lives: short for purchases, longer for previews and covers. */
  presignSeconds: number;
  /** PUBLIC_MEDIA_URL for what anyone may see (covers, previews): a redirect to the CDN. */
  publicBase?: string | null;
}

/**
 * Sends a media object: with object storage, a redirect to a presigned URL (or the CDN) so the
 * bytes never pass through Node and range requests are the store's; with the local folder, the
 * object itself, answering a single byte range so an interrupted download resumes.
 */
export async function deliverObject(
  req: Request,
  res: Response,
  storage: MediaStorage,
  key: string,
  options: DeliverOptions,
): Promise<void> {
  if (options.publicBase) return res.redirect(302, `${options.publicBase}/${key}`);
  const url = await storage.presignedUrl(key, {
    expiresSeconds: options.presignSeconds,
    fileName: options.fileName,
    contentType: options.contentType,
    cacheControl: options.cacheControl,
  });
  if (url) {
    // The redirect is good only while the signature is: never cached for longer than that.
    res.setHeader('Cache-Control', options.fileName ? 'private, no-store' : `private, max-age=${Math.floor(options.presignSeconds / 2)}`);
    // Written directly: the URL is already encoded, and res.redirect's negotiated body (an HTML or
    // text page naming the URL) was a tenth of a presigned download's CPU for a body no client reads.
    res.statusCode = 302;
    res.setHeader('Location', url);
    res.end();
    return;
  }
  if (storage.localFile) sendLocalFile(res, storage.localFile(key), options);
  else await streamObject(req, res, storage, key, options);
}

/**
 * Read size for a file: Node's 64 KB default means 160 reads and socket writes per 10 MB track,
 * and those calls were most of the store's CPU in the download bench; 256 KB quarters them.
 */
const FILE_CHUNK_BYTES = 256 * 1024;

/** The local folder: send() answers Range (so a download resumes), conditional requests and HEAD; its errors (404, 416) go to the error page. */
function sendLocalFile(res: Response, file: string, options: DeliverOptions): void {
  const headers: Record<string, string> = { 'Content-Type': options.contentType, 'Cache-Control': options.cacheControl };
  if (options.fileName) headers['Content-Disposition'] = attachmentHeader(options.fileName);
  // send() hands its options on to fs.createReadStream, which is how highWaterMark (not in Express's types) sets the read size.
  const sendOptions = { headers, cacheControl: false, highWaterMark: FILE_CHUNK_BYTES };
  res.sendFile(file, sendOptions);
}

async function streamObject(req: Request, res: Response, storage: MediaStorage, key: string, options: DeliverOptions): Promise<void> {
  const stat = await storage.stat(key);
  if (!stat) {
    res.status(404).type('text/plain').send('This file is missing from the store. Please try again later.');
    return;
  }
  res.setHeader('Content-Type', options.contentType);
  res.setHeader('Cache-Control', options.cacheControl);
  res.setHeader('Accept-Ranges', 'bytes');
  if (options.fileName) res.setHeader('Content-Disposition', attachmentHeader(options.fileName));
  const ranges = req.headers.range ? req.range(stat.size, { combine: true }) : undefined;
  if (ranges === -1) {
    res.status(416).setHeader('Content-Range', `bytes */${stat.size}`);
    res.end();
    return;
  }
  // One range is what players and download managers ask for; several are answered with the whole file.
  const range = Array.isArray(ranges) && ranges.length === 1 && ranges.type === 'bytes' ? ranges[0]! : undefined;
  if (range) {
    res.status(206).setHeader('Content-Range', `bytes ${range.start}-${range.end}/${stat.size}`);
    res.setHeader('Content-Length', String(range.end - range.start + 1));
  } else {
    res.setHeader('Content-Length', String(stat.size));
  }
  if (req.method === 'HEAD' || stat.size === 0) {
    res.end();
    return;
  }
  const body = await storage.get(key, range);
  await pipeline(body, res).catch((error: NodeJS.ErrnoException) => {
    // A customer who cancels a download is not an error of ours.
    if (error.code !== 'ERR_STREAM_PREMATURE_CLOSE') throw error;
  });
}
