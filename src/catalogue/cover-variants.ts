import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import type { Sharp } from 'sharp';
import type { MediaStorage } from '../media/storage.js';

/**
 * Cover art at the size each place shows it, twice the CSS width for high-density screens: the
 * 48 px thumbnails of the chart and basket, the release cards (about 170-240 px wide), the
 * release page (at most 340 px). A cover is never enlarged past the size it was delivered at.
 */
export const COVER_SIZES = { thumb: 96, card: 480, large: 680 } as const;
export type CoverSize = keyof typeof COVER_SIZES;
export const isCoverSize = (name: string): name is CoverSize => Object.hasOwn(COVER_SIZES, name);

/** WebP for every browser that shows it (all current ones); the cover's own format as the fallback. */
export type CoverFormat = 'webp' | 'jpg' | 'png';

/**
 * The image library, loaded on the first cover to make (its native part is tens of MB resident,
 * and most processes find every variant already made). libvips keeps recently decoded images in
 * memory by default; covers are decoded once each and kept on disk, so that cache is turned off.
 */
let loaded: Promise<(input: Buffer, options: { failOn: 'error' }) => Sharp> | undefined;
const imageLibrary = () =>
  (loaded ??= import('sharp').then(({ default: sharp }) => {
    sharp.cache(false);
    sharp.concurrency(1);
    return sharp;
  }));

/** A cover scaled to one size, bytes in and bytes out (where the bytes live is the caller's business). */
export async function makeCoverVariant(original: Buffer, size: CoverSize, format: CoverFormat): Promise<Buffer> {
  const width = COVER_SIZES[size];
  const sharp = await imageLibrary();
  const image = sharp(original, { failOn: 'error' }).rotate().resize({ width, height: width, fit: 'cover', withoutEnlargement: true });
  if (format === 'webp') return image.webp({ quality: 80 }).toBuffer();
  if (format === 'png') return image.png({ compressionLevel: 9, palette: size === 'thumb' }).toBuffer();
  return image.jpeg({ quality: 82, mozjpeg: true }).toBuffer();
}

/** The fallback format of a cover file: its own (covers are stored as .jpg or .png). */
export const fallbackFormat = (coverFile: string): CoverFormat => (path.extname(coverFile) === '.png' ? 'png' : 'jpg');

/** Where a cover's variant is kept beside the covers: named by the original's content hash, so it is re-creatable and never stale. */
export function variantPath(coverFile: string, size: CoverSize, format: CoverFormat): string {
  const original = path.posix.basename(coverFile, path.posix.extname(coverFile));
  return path.posix.join('covers', 'variants', original.slice(0, 2), `${original}-${size}.${format}`);
}

/**
 * Variants made once, on first request, and kept in the media storage (local folder or S3) beside
 * the covers; requests for a variant being made meanwhile wait for the same work rather than doing it again.
 */
export function coverVariants(storage: MediaStorage) {
  const making = new Map<string, Promise<string | null>>();

  async function make(coverFile: string, size: CoverSize, format: CoverFormat, target: string): Promise<string | null> {
    if ((await storage.stat(target)) !== null) return target;
    if ((await storage.stat(coverFile)) === null) return null;
    const original = await buffer(await storage.get(coverFile));
    // A cover the image library cannot read (a broken tag, say) is served as it is rather than not at all.
    const variant = await makeCoverVariant(original, size, format).catch(() => null);
    if (!variant) return coverFile;
    await storage.put(target, variant, { contentType: format === 'webp' ? 'image/webp' : format === 'png' ? 'image/png' : 'image/jpeg' });
    return target;
  }

  return {
    /** The stored variant's path relative to the media storage, made if it is not there yet; null when the cover itself is missing. */
    variant(coverFile: string, size: CoverSize, format: CoverFormat): Promise<string | null> {
      const target = variantPath(coverFile, size, format);
      let pending = making.get(target);
      if (!pending) {
        pending = make(coverFile, size, format, target).finally(() => making.delete(target));
        making.set(target, pending);
      }
      return pending;
    },
  };
}

export type CoverVariants = ReturnType<typeof coverVariants>;
