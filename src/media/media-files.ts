import { keys } from './keys.js';
import type { MediaStorage } from './storage.js';

const CONTENT_TYPES: Record<string, string> = {
  mp3: 'audio/mpeg',
  flac: 'audio/flac',
  wav: 'audio/wav',
  jpg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
};
export const contentTypeOf = (key: string) => CONTENT_TYPES[key.slice(key.lastIndexOf('.') + 1)] ?? 'application/octet-stream';

/** The importer's and the admin's writes: each returns the key it stored under. */
export function createMediaFiles(storage: MediaStorage) {
  const save = async (key: string, data: Buffer) => {
    await storage.put(key, data, { contentType: contentTypeOf(key) });
    return key;
  };
  return {
    storage,
    saveMp3Master: (audioSha256: string, data: Buffer) => save(keys.mp3Master(audioSha256), data),
    saveLosslessMaster: (fileSha256: string, extension: 'flac' | 'wav', data: Buffer) =>
      save(keys.losslessMaster(fileSha256, extension), data),
    savePreview: (audioSha256: string, data: Buffer) => save(keys.preview(audioSha256), data),
    saveCover: (data: Buffer, extension: string) => save(keys.cover(data, extension), data),
  };
}

export type MediaFiles = ReturnType<typeof createMediaFiles>;
