import { createHash } from 'node:crypto';

/**
 * Every media key, made from content hashes (never from a tag, a file name or a request), in a
 * two-character shard so no folder or listing grows past a few thousand entries.
 */
const sharded = (folder: string, hash: string, extension: string) => `${folder}/${hash.slice(0, 2)}/${hash}.${extension}`;

export const sha256Hex = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

export const keys = {
  /** An MP3 as imported, by the hash of its audio frames (the layout the store has always had). */
  mp3Master: (audioSha256: string) => sharded('tracks', audioSha256, 'mp3'),
  /** A lossless master exactly as delivered, by the SHA-256 of the whole file. */
  losslessMaster: (fileSha256: string, extension: 'flac' | 'wav') => sharded('masters', fileSha256, extension),
  preview: (audioSha256: string) => sharded('previews', audioSha256, 'mp3'),
  cover: (data: Buffer, extension: string) => sharded('covers', sha256Hex(data), extension),
  /** An encoding, by the hash of everything that went into it (master, format, tags, cover). */
  encoding: (format: string, inputsSha256: string, extension: string) => sharded(`encodings/${format}`, inputsSha256, extension),
  releaseZip: (inputsSha256: string) => sharded('zips', inputsSha256, 'zip'),
};
