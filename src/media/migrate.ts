import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { contentTypeOf } from './media-files.js';
import type { MediaStorage } from './storage.js';
import { objectSha256 } from './verify.js';

export class MediaCopyError extends Error {}

export interface MigrateSummary {
  objects: number;
  copied: number;
  /** Already at the destination with the same SHA-256 (a resumed run skips them). */
  alreadyThere: number;
  bytes: number;
}

/**
 * Copies every media object from one storage to the other (the folder into the bucket, or back),
 * verifying each: the source is hashed as it is read, the destination is read back and hashed, and
 * a mismatch stops the run. An object already at the destination with the same hash is skipped,
 * so a run that was interrupted is simply run again. Nothing is deleted from the source.
 */
export async function migrateMedia(
  from: MediaStorage,
  to: MediaStorage,
  progress: { onStart(total: number): void; onObject(done: number, key: string): void } = { onStart() {}, onObject() {} },
): Promise<MigrateSummary> {
  const objects: { key: string; size: number }[] = [];
  for await (const object of from.list()) objects.push(object);
  progress.onStart(objects.length);
  const summary: MigrateSummary = { objects: objects.length, copied: 0, alreadyThere: 0, bytes: 0 };
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), 'store-media-migrate-'));
  try {
    for (const [i, { key, size }] of objects.entries()) {
      const there = await to.stat(key);
      const sourceHash = there?.size === size ? await objectSha256(from, key) : null;
      if (sourceHash && (await objectSha256(to, key)) === sourceHash) {
        summary.alreadyThere++;
      } else {
        await copyVerified(from, to, key, path.join(work, 'object'));
        summary.copied++;
        summary.bytes += size;
      }
      progress.onObject(i + 1, key);
    }
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
  return summary;
}

async function copyVerified(from: MediaStorage, to: MediaStorage, key: string, temporary: string): Promise<void> {
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(await from.get(key), hashing, fs.createWriteStream(temporary));
  const expected = hash.digest('hex');
  await to.putFile(key, temporary, { contentType: contentTypeOf(key) });
  const written = await objectSha256(to, key);
  if (written !== expected) throw new MediaCopyError(`${key}: SHA-256 at the destination is ${written}, the source's is ${expected}`);
}
