import type { Readable } from 'node:stream';

/**
 * Where media lives: masters, encodings, previews, covers and release ZIPs, each under a key such
 * as `masters/ab/<sha256>.flac`. Keys are made by src/media/keys.ts from content hashes, never from
 * a tag or a request, so no feature builds a path. Two implementations: a local folder
 * (local-storage.ts, the default) and S3-compatible object storage (s3-storage.ts).
 */
export interface MediaStorage {
  readonly kind: 'local' | 's3';
  /** Where it is, for people: a folder, or s3://bucket at an endpoint. */
  readonly location: string;
  /** Writes a whole object; a reader never sees half of one (rename on disk, atomic PUT in S3). */
  put(key: string, data: Buffer | string, options?: { contentType?: string }): Promise<void>;
  /** Writes a whole object from a file on this machine (large encodings and ZIPs are not held in memory). */
  putFile(key: string, file: string, options?: { contentType?: string }): Promise<void>;
  /** Reads an object as a stream, all of it or the byte range [start, end] (inclusive). Throws MediaMissingError. */
  get(key: string, range?: { start: number; end: number }): Promise<Readable>;
  /** Size of an object, or null when there is none. */
  stat(key: string): Promise<{ size: number } | null>;
  delete(key: string): Promise<void>;
  /** Every object whose key starts with prefix, in key order. */
  list(prefix?: string): AsyncIterable<{ key: string; size: number }>;
  /**
   * A short-lived URL the client fetches the object from directly (range and resume are the object
   * store's), with the headers the response should carry; null when the storage cannot hand one out
   * (the local folder), and the store streams the object itself.
   */
  presignedUrl(
    key: string,
    options: { expiresSeconds: number; fileName?: string; contentType?: string; cacheControl?: string; signedAt?: Date },
  ): Promise<string | null>;
  /** The local folder only: where an object is on this machine, for the HTTP layer's file sending (send's Range, ETag, HEAD). */
  localFile?(key: string): string;
}

export class MediaMissingError extends Error {
  constructor(readonly key: string) {
    super(`media object ${key} is missing`);
  }
}

/** A key is ours: lower-case folders, hex names, one extension; nothing that climbs out of a folder. */
export function checkKey(key: string): string {
  if (!/^[a-z0-9][a-z0-9_-]*(\/[a-z0-9_-]+)*\/[a-z0-9_-]+(\.[a-z0-9]+)?$/.test(key))
    throw new Error(`not a media key: ${JSON.stringify(key)}`);
  return key;
}

/** Content-Disposition for a file the customer saves: ASCII fallback plus the UTF-8 name (RFC 6266). */
export function attachmentHeader(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}
