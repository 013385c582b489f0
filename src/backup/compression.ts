import fs from 'node:fs';
import { Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';

/** A backup file that cannot be read to its end: truncated, corrupt, or not a backup at all. */
export class DamagedBackupError extends Error {}

/** Counts the bytes flowing through, for progress. */
export function byteCounter(onBytes: (total: number) => void): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      total += chunk.length;
      onBytes(total);
      callback(null, chunk);
    },
  });
}

/** Compresses a stream into a file; resolves once the file is flushed to disk. */
export async function gzipInto(source: Readable, file: string, onBytes: (total: number) => void = () => {}): Promise<void> {
  const output = fs.createWriteStream(file, { mode: 0o600 });
  await pipeline(source, byteCounter(onBytes), zlib.createGzip({ level: 6 }), output);
  await syncFile(file);
}

/** fsync before the rename that makes a backup final: a crash must not leave a named, empty file. */
export async function syncFile(file: string): Promise<void> {
  const handle = await fs.promises.open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * The decompressed content of a backup as a stream, with a zlib failure turned into a message an
 * operator can act on. `onBytes` reports compressed bytes read, for progress against the file size.
 */
export function gunzipStream(file: string, onBytes: (total: number) => void = () => {}): Readable {
  const gunzip = zlib.createGunzip();
  const input = fs.createReadStream(file);
  input.on('error', (error) => gunzip.destroy(error));
  const counted = input.pipe(byteCounter(onBytes));
  counted.pipe(gunzip);
  const explained = new Transform({ transform: (chunk, _e, callback) => callback(null, chunk) });
  gunzip.on('error', (error) => explained.destroy(explainGzipError(file, error)));
  return gunzip.pipe(explained);
}

export function explainGzipError(file: string, error: unknown): Error {
  const code = (error as { code?: string }).code ?? '';
  if (code.startsWith('Z_') || /unexpected end of file|incorrect header check|invalid/i.test(String((error as Error).message))) {
    return new DamagedBackupError(
      `${file} is not a complete backup: the compressed data is truncated or corrupt (${(error as Error).message}).`,
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Reads the whole backup once before anything is changed, so a damaged file is refused while the
 * target database is still untouched. Returns the last lines, where a complete dump says so.
 */
export async function verifyGzip(file: string): Promise<string> {
  let tail = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      tail = (tail + chunk.toString('latin1')).slice(-4096);
      callback();
    },
  });
  await pipeline(gunzipStream(file), sink);
  return tail;
}
