import type { MediaSettings } from '../config.js';
import { createLocalStorage } from './local-storage.js';
import { createMediaFiles } from './media-files.js';
import { createS3Storage } from './s3-storage.js';
import type { MediaStorage } from './storage.js';

/** The storage MEDIA_STORAGE names: the local folder, or the S3 bucket. */
export function createMediaStorage(storage: MediaSettings['storage']): MediaStorage {
  return storage.kind === 's3' ? createS3Storage(storage) : createLocalStorage(storage.dir);
}

/** The importer's writer for a configured store: `createImporter({ db, ...importerMedia(config.media) })`. */
export function importerMedia(settings: MediaSettings) {
  return { media: createMediaFiles(createMediaStorage(settings.storage)), ffmpegPath: settings.ffmpegPath };
}

export type { MediaStorage } from './storage.js';
