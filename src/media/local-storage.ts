import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { checkKey, MediaMissingError, type MediaStorage } from './storage.js';

/**
 * Read size for a file: Node's 64 KB default means 160 reads and socket writes per 10 MB track,
 * and those calls were most of the store's CPU in the download bench; 256 KB quarters them.
 */
const READ_CHUNK_BYTES = 256 * 1024;

/** The media folder (MEDIA_DIR): outside public/, served only by routes. */
export function createLocalStorage(mediaDir: string): MediaStorage {
  const root = path.resolve(mediaDir);
  const fileOf = (key: string) => path.join(root, checkKey(key));

  async function* walk(dir: string): AsyncGenerator<string> {
    let entries: fs.Dirent[];
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) yield* walk(full);
      // Writes go through *.tmp then rename: a file in mid-write is not media yet.
      else if (entry.isFile() && !entry.name.endsWith('.tmp')) yield path.relative(root, full).split(path.sep).join('/');
    }
  }

  /** Write then rename, so a reader never sees half a file. */
  async function writeAtomically(key: string, write: (temporary: string) => Promise<void>) {
    const target = fileOf(key);
    await fsp.mkdir(path.dirname(target), { recursive: true });
    const temporary = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await write(temporary);
    await fsp.rename(temporary, target);
  }

  return {
    kind: 'local',
    location: root,
    put: (key, data) => writeAtomically(key, (temporary) => fsp.writeFile(temporary, data)),
    putFile: (key, file) => writeAtomically(key, (temporary) => fsp.copyFile(file, temporary)),
    async get(key, range) {
      const file = fileOf(key);
      try {
        const handle = await fsp.open(file, 'r');
        return handle.createReadStream({
          highWaterMark: READ_CHUNK_BYTES,
          ...(range ? { start: range.start, end: range.end } : {}),
        }) as Readable;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new MediaMissingError(key);
        throw error;
      }
    },
    async stat(key) {
      try {
        const stat = await fsp.stat(fileOf(key));
        return stat.isFile() ? { size: stat.size } : null;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
    },
    async delete(key) {
      await fsp.rm(fileOf(key), { force: true });
    },
    async *list(prefix = '') {
      // Walk only the folder the prefix names, then filter by the rest of it.
      const folder = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
      for await (const key of walk(path.join(root, folder))) {
        if (!key.startsWith(prefix)) continue;
        yield { key, size: (await fsp.stat(path.join(root, key))).size };
      }
    },
    async presignedUrl() {
      return null;
    },
    localFile: fileOf,
  };
}
