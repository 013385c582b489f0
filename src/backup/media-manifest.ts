import type { MediaStorage } from '../media/storage.js';
import { objectSha256 } from '../media/verify.js';

export interface MediaManifest {
  createdAt: string;
  /** Which kind of media storage the store uses (MEDIA_STORAGE) and where it is. */
  storage: 'local' | 's3';
  /** The folder (local) or s3://bucket at the endpoint (s3). */
  mediaDir: string;
  fileCount: number;
  totalBytes: number;
  /** Media keys ('/' separators, relative to the folder or the bucket), sorted. */
  files: { path: string; size: number; sha256: string }[];
}

/**
 * Lists every media object, in the folder or the bucket, with its size and SHA-256. The media
 * itself is not copied (it is large and never changes once written); the manifest lets an
 * operator check that their copy of the folder or bucket matches the database backup.
 */
export async function buildMediaManifest(
  storage: MediaStorage,
  now: Date,
  callbacks: { onStart(total: number): void; onFile(count: number): void } = { onStart() {}, onFile() {} },
): Promise<MediaManifest> {
  const objects: { key: string; size: number }[] = [];
  for await (const object of storage.list()) objects.push(object);
  objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  callbacks.onStart(objects.length);
  const files: MediaManifest['files'] = [];
  for (const object of objects) {
    files.push({ path: object.key, size: object.size, sha256: await objectSha256(storage, object.key) });
    callbacks.onFile(files.length);
  }
  return {
    createdAt: now.toISOString(),
    storage: storage.kind,
    mediaDir: storage.location,
    fileCount: files.length,
    totalBytes: files.reduce((sum, f) => sum + f.size, 0),
    files,
  };
}
