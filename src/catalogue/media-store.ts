import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * The media folder: full tracks, previews and cover art, named by content hash so that no file
 * name ever comes from a tag or a request. It lives outside public/ and is served only by routes.
 */
export function createMediaStore(mediaDir: string) {
  const root = path.resolve(mediaDir);

  async function write(relative: string, data: Buffer): Promise<string> {
    const target = path.join(root, relative);
    await fs.mkdir(path.dirname(target), { recursive: true });
    // Write then rename, so a reader never sees half a file.
    const temporary = `${target}.${process.pid}.tmp`;
    await fs.writeFile(temporary, data);
    await fs.rename(temporary, target);
    return relative;
  }

  const sharded = (folder: string, hash: string, extension: string) => path.posix.join(folder, hash.slice(0, 2), `${hash}.${extension}`);

  /** A stored file's bytes, or null when there is none (a relative path of ours, never a request's). */
  async function read(relative: string): Promise<Buffer | null> {
    try {
      return await fs.readFile(path.join(root, relative));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  return {
    root,
    read,
    write,
    saveTrack: (audioSha256: string, data: Buffer) => write(sharded('tracks', audioSha256, 'mp3'), data),
    savePreview: (audioSha256: string, data: Buffer) => write(sharded('previews', audioSha256, 'mp3'), data),
    saveCover: (data: Buffer, extension: string) =>
      write(sharded('covers', createHash('sha256').update(data).digest('hex'), extension), data),
  };
}

export type MediaStore = ReturnType<typeof createMediaStore>;
