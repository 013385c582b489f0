import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

export interface MediaManifest {
  createdAt: string;
  mediaDir: string;
  fileCount: number;
  totalBytes: number;
  /** Paths relative to mediaDir with '/' separators, sorted. */
  files: { path: string; size: number; sha256: string }[];
}

/**
 * Lists every file under the media folder with its size and SHA-256. The media files themselves
 * are not copied (they are large and never change once written); the manifest lets an operator
 * check that their filesystem backup of the folder matches the database backup.
 */
export async function buildMediaManifest(
  mediaDir: string,
  now: Date,
  callbacks: { onStart(total: number): void; onFile(count: number): void } = { onStart() {}, onFile() {} },
): Promise<MediaManifest> {
  const root = path.resolve(mediaDir);
  const relativePaths = fs.existsSync(root) ? walk(root).sort() : [];
  callbacks.onStart(relativePaths.length);
  const files: MediaManifest['files'] = [];
  for (const relative of relativePaths) {
    const full = path.join(root, relative);
    const size = fs.statSync(full).size;
    files.push({ path: relative.split(path.sep).join('/'), size, sha256: await sha256Of(full) });
    callbacks.onFile(files.length);
  }
  return { createdAt: now.toISOString(), mediaDir: root, fileCount: files.length, totalBytes: files.reduce((sum, f) => sum + f.size, 0), files };
}

function walk(root: string, dir = root): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...walk(root, full));
    // The media store writes through *.tmp then renames: a file in mid-write is not media yet.
    else if (entry.isFile() && !entry.name.endsWith('.tmp')) found.push(path.relative(root, full));
  }
  return found;
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest('hex');
}
