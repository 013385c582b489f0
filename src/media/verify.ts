import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { MediaStorage } from './storage.js';

/** The SHA-256 of a stored object, read as a stream (objects can be hundreds of megabytes). */
export async function objectSha256(storage: MediaStorage, key: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(await storage.get(key), hash);
  return hash.digest('hex');
}
