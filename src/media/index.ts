import type { MediaSettings } from '../config.js';
import { createLocalStorage } from './local-storage.js';
import { createMediaFiles } from './media-files.js';
import type { MediaStorage } from './storage.js';
import type { S3Settings } from '../config.js';

/** The storage MEDIA_STORAGE names: the local folder, or the S3 bucket. */
export function createMediaStorage(storage: MediaSettings['storage']): MediaStorage {
  return storage.kind === 's3' ? s3StorageOnFirstUse(storage) : createLocalStorage(storage.dir);
}

/**
 * The bucket, with the AWS SDK loaded when it is first used: a store on the local folder never
 * loads it (about 10 MB of the compiled store's resident memory, measured at start).
 */
function s3StorageOnFirstUse(settings: S3Settings): MediaStorage {
  let loaded: Promise<MediaStorage> | undefined;
  const s3 = () => (loaded ??= import('./s3-storage.js').then(({ createS3Storage }) => createS3Storage(settings)));
  return {
    kind: 's3',
    location: `s3://${settings.bucket}${settings.endpoint ? ` at ${settings.endpoint}` : ''}`,
    put: async (key, data, options) => (await s3()).put(key, data, options),
    putFile: async (key, file, options) => (await s3()).putFile(key, file, options),
    get: async (key, range) => (await s3()).get(key, range),
    stat: async (key) => (await s3()).stat(key),
    delete: async (key) => (await s3()).delete(key),
    list: async function* (prefix) {
      yield* (await s3()).list(prefix);
    },
    presignedUrl: async (key, options) => (await s3()).presignedUrl(key, options),
  };
}

/** The importer's writer for a configured store: `createImporter({ db, ...importerMedia(config.media) })`. */
export function importerMedia(settings: MediaSettings) {
  return { media: createMediaFiles(createMediaStorage(settings.storage)), ffmpegPath: settings.ffmpegPath };
}

export type { MediaStorage } from './storage.js';
