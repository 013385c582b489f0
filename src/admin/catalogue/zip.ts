/**
 * Unpacking an uploaded folder zip for the importer, defensively: every entry's name must be a
 * plain relative path (no "..", no absolute or drive path, no backslash: "zip slip"), and the
 * number of entries and the bytes actually written are capped (a zip bomb stops at the cap, whatever
 * its headers claim). Any bad entry refuses the whole archive and removes what was written.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';

export interface ZipLimits {
  maxEntries: number;
  maxTotalBytes: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = { maxEntries: 5000, maxTotalBytes: 2 * 1024 * 1024 * 1024 };

/** A problem with the archive itself, worded for the operator. */
export class ZipRefused extends Error {}

/** The path an entry may be written to under `root`, or a reason it may not. */
export function safeEntryPath(root: string, name: string): string {
  if (name.length === 0 || name.length > 1024 || name.includes('\0')) throw new ZipRefused(`an entry has an unusable name`);
  if (name.includes('\\') || name.startsWith('/') || /^[a-zA-Z]:/.test(name))
    throw new ZipRefused(`the entry "${name}" has an absolute or Windows path`);
  if (name.split('/').some((part) => part === '..')) throw new ZipRefused(`the entry "${name}" points outside the folder ("..")`);
  const target = path.resolve(root, name);
  if (target !== root && !target.startsWith(root + path.sep)) throw new ZipRefused(`the entry "${name}" points outside the folder`);
  return target;
}

/** Counts bytes going through, failing once more than `allowed` have passed. */
function byteCap(allowed: () => number, used: (n: number) => void) {
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      if (chunk.length > allowed()) return done(new ZipRefused('the unpacked files are larger than the import allows'));
      used(chunk.length);
      done(null, chunk);
    },
  });
}

/** Extracts `zipFile` into the empty folder `dest`; returns how many files were written. */
export async function extractZip(zipFile: string, dest: string, limits: ZipLimits = DEFAULT_ZIP_LIMITS): Promise<number> {
  const root = path.resolve(dest);
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(zipFile, { strictFileNames: true, validateEntrySizes: true });
  } catch {
    throw new ZipRefused('that file is not a readable zip archive');
  }
  if (zip.entryCount > limits.maxEntries) {
    zip.close();
    throw new ZipRefused(`the zip holds ${zip.entryCount} entries; at most ${limits.maxEntries} are allowed`);
  }
  let written = 0;
  let files = 0;
  try {
    for await (const entry of readEntries(zip)) {
      const target = safeEntryPath(root, entry.fileName.replace(/\/+$/, '') || '.');
      if (entry.fileName.endsWith('/')) {
        await fsp.mkdir(target, { recursive: true });
        continue;
      }
      if (entry.uncompressedSize > limits.maxTotalBytes - written)
        throw new ZipRefused('the unpacked files are larger than the import allows');
      await fsp.mkdir(path.dirname(target), { recursive: true });
      const source = await zip.openReadStreamPromise(entry);
      await pipeline(
        source,
        byteCap(
          () => limits.maxTotalBytes - written,
          (n) => (written += n),
        ),
        fs.createWriteStream(target, { flags: 'wx' }),
      );
      files++;
    }
  } catch (error) {
    await fsp.rm(root, { recursive: true, force: true });
    await fsp.mkdir(root, { recursive: true });
    if (error instanceof ZipRefused) throw error;
    // yauzl's own checks (a bad name, a size that does not match) and a broken archive.
    const message = (error as Error).message ?? String(error);
    if (/invalid relative path|absolute path|invalid characters/.test(message))
      throw new ZipRefused(`an entry's path is not allowed (${message})`);
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new ZipRefused('the zip holds the same file twice');
    throw new ZipRefused(`the zip could not be read (${message})`);
  } finally {
    zip.close();
  }
  return files;
}

async function* readEntries(zip: yauzl.ZipFile): AsyncGenerator<yauzl.Entry> {
  // lazyEntries: one entry at a time, after the previous one is written.
  for (;;) {
    const entry = await new Promise<yauzl.Entry | null>((resolve, reject) => {
      const onEntry = (e: yauzl.Entry) => (cleanup(), resolve(e));
      const onEnd = () => (cleanup(), resolve(null));
      const onError = (err: Error) => (cleanup(), reject(err));
      const cleanup = () => {
        zip.off('entry', onEntry);
        zip.off('end', onEnd);
        zip.off('error', onError);
      };
      zip.on('entry', onEntry);
      zip.on('end', onEnd);
      zip.on('error', onError);
      zip.readEntry();
    });
    if (!entry) return;
    yield entry;
  }
}
