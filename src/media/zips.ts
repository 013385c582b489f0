/**
 * Release ZIPs. With the local folder the download route builds one on first request and streams
 * it (src/media/service.ts); with object storage a ZIP is made once by the media worker from the
 * stored files, kept in the bucket under its content address, and handed out like a track: a
 * presigned redirect. media_zips is its queue row, leased like an encoding's (encodings.ts).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import archiver from 'archiver';
import type { Db } from '../db/database.js';
import { isDuplicateKeyError } from '../db/dialect.js';
import { claimJobs, waitingJob } from './encodings.js';
import type { MediaStorage } from './storage.js';

/** One file in a ZIP: a stored object and the name it has in the archive. */
export interface ZipEntry {
  key: string;
  name: string;
}

export async function findZip(db: Db, key: string) {
  return db.selectFrom('media_zips').select(['id', 'status']).where('output_key', '=', key).executeTakeFirst();
}

/** Queues a ZIP (or queues again one whose object was lost). Two requests at once queue it once. */
export async function queueZip(
  db: Db,
  zip: { key: string; releaseId: number; format: string; entries: ZipEntry[] },
  now: string,
): Promise<void> {
  const existing = await findZip(db, zip.key);
  if (existing) {
    await db
      .updateTable('media_zips')
      .set({ status: 'pending', attempts: 0, last_error: null, claimed_by: null, lease_until: null, updated_at: now })
      .where('id', '=', existing.id)
      .where('status', '=', 'ready')
      .execute();
    return;
  }
  try {
    await db
      .insertInto('media_zips')
      .values({
        output_key: zip.key,
        release_id: zip.releaseId,
        format: zip.format,
        entries: JSON.stringify(zip.entries),
        ...waitingJob(now),
      })
      .execute();
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error; // another request queued it first
  }
}

/** Claims the next waiting ZIP for this worker. */
export async function claimZip(db: Db, workerId: string, now: Date, leaseMs: number) {
  const [id] = await claimJobs(db, 'media_zips', workerId, now, leaseMs, 1);
  if (id === undefined) return undefined;
  const row = await db
    .selectFrom('media_zips')
    .select(['id', 'output_key', 'entries', 'attempts'])
    .where('id', '=', id)
    .where('claimed_by', '=', workerId)
    .executeTakeFirst();
  return row && { ...row, entries: JSON.parse(row.entries) as ZipEntry[] };
}

/**
 * Packs stored objects into a ZIP in a temporary file, then stores it under `key`; its size.
 * Audio does not compress: entries are stored, not deflated.
 */
export async function buildZip(storage: MediaStorage, key: string, entries: ZipEntry[]): Promise<number> {
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), 'store-zip-'));
  try {
    const file = path.join(work, 'release.zip');
    const zip = archiver('zip', { store: true });
    const written = pipeline(zip, fs.createWriteStream(file));
    for (const entry of entries) {
      zip.append(await storage.get(entry.key), { name: entry.name });
      await new Promise<void>((resolve, reject) => {
        zip.once('entry', () => resolve());
        zip.once('error', reject);
      });
    }
    await zip.finalize();
    await written;
    await storage.putFile(key, file, { contentType: 'application/zip' });
    return (await fsp.stat(file)).size;
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}
