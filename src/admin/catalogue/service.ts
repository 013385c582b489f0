/**
 * The operator's catalogue changes: titles and prices, hiding a release, a new cover, a zip of a
 * music folder through the same importer as `npx store import`. Each change and its audit row
 * commit together; the store's page caches are emptied afterwards, so the change shows at once.
 */
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Db } from '../../db/database.js';
import { toDbTime } from '../../db/dialect.js';
import { createImporter, type ImportSummary } from '../../catalogue/importer/importer.js';
import type { MediaFiles } from '../../media/media-files.js';
import { recordAudit } from '../audit.js';
import * as repo from './repository.js';
import { formatPrice } from '../../web/view-helpers.js';
import { DEFAULT_ZIP_LIMITS, extractZip, type ZipLimits } from './zip.js';

export interface CatalogueAdminDeps {
  db: Db;
  clock: () => Date;
  media: MediaFiles;
  ffmpegPath: string;
  /** Empties the catalogue page caches of this process (others expire theirs within CATALOGUE_CACHE_SECONDS). */
  catalogueChanged: () => void;
  /** The store's own label: imported files without a label tag belong to it. */
  ownLabelName?: string;
}

export interface ReleaseEdit {
  title: string;
  pricePence: number | null;
  tracks: { id: number; title: string; pricePence: number | null }[];
}

export const MAX_TITLE_LENGTH = 255;

const priceText = (pence: number | null) => (pence === null ? 'default' : formatPrice(pence));

export function createCatalogueAdmin({ db, clock, media, ffmpegPath, catalogueChanged, ownLabelName }: CatalogueAdminDeps) {
  /** Applies the edit; returns what changed (empty when nothing did), or null when there is no such release. */
  async function editRelease(operatorId: number, releaseId: number, edit: ReleaseEdit): Promise<string[] | null> {
    const now = clock();
    const changes = await db.transaction().execute(async (tx) => {
      const release = await repo.findRelease(tx, releaseId);
      if (!release) return null;
      const tracks = new Map((await repo.tracksOf(tx, releaseId)).map((t) => [t.id, t]));
      const changed: string[] = [];
      if (release.title !== edit.title) changed.push(`title "${release.title}" -> "${edit.title}"`);
      if (release.price_pence !== edit.pricePence) changed.push(`price ${priceText(release.price_pence)} -> ${priceText(edit.pricePence)}`);
      if (changed.length) await repo.updateRelease(tx, releaseId, edit, toDbTime(now));
      for (const t of edit.tracks) {
        const before = tracks.get(t.id);
        if (!before || (before.title === t.title && before.price_pence === t.pricePence)) continue;
        if (before.title !== t.title) changed.push(`track ${t.id} title "${before.title}" -> "${t.title}"`);
        if (before.price_pence !== t.pricePence)
          changed.push(`track ${t.id} price ${priceText(before.price_pence)} -> ${priceText(t.pricePence)}`);
        await repo.updateTrack(tx, t.id, releaseId, t, toDbTime(now));
      }
      if (changed.length === 0) return changed;
      await repo.refreshSearchTerms(tx, releaseId);
      await recordAudit(tx, { operatorId, action: 'catalogue.edit', target: `release:${releaseId}`, detail: changed.join('; ') }, now);
      return changed;
    });
    if (changes?.length) catalogueChanged();
    return changes;
  }

  /** Hides a release from the catalogue pages, search and sitemap (buyers keep their downloads), or shows it again. */
  async function setHidden(operatorId: number, releaseId: number, hidden: boolean): Promise<boolean> {
    const now = clock();
    const found = await db.transaction().execute(async (tx) => {
      const release = await repo.findRelease(tx, releaseId);
      if (!release) return false;
      if ((release.hidden === 1) === hidden) return true;
      await repo.setHidden(tx, releaseId, hidden, toDbTime(now));
      await repo.refreshSearchTerms(tx, releaseId);
      await recordAudit(tx, { operatorId, action: hidden ? 'catalogue.hide' : 'catalogue.show', target: `release:${releaseId}` }, now);
      return true;
    });
    catalogueChanged();
    return found;
  }

  /** Stores a checked JPEG or PNG as the release's cover. */
  async function replaceCover(operatorId: number, releaseId: number, image: Buffer, extension: 'jpg' | 'png'): Promise<boolean> {
    if (!(await repo.findRelease(db, releaseId))) return false;
    const coverFile = await media.saveCover(image, extension);
    const now = clock();
    await db.transaction().execute(async (tx) => {
      await repo.setCover(tx, releaseId, coverFile, toDbTime(now));
      await recordAudit(
        tx,
        { operatorId, action: 'catalogue.cover', target: `release:${releaseId}`, detail: `${extension}, ${image.length} bytes` },
        now,
      );
    });
    catalogueChanged();
    return true;
  }

  /** Unpacks an uploaded zip into a fresh temporary folder and imports it; the folder is removed afterwards. */
  async function importZip(
    operatorId: number,
    zipFile: string,
    originalName: string,
    limits: ZipLimits = DEFAULT_ZIP_LIMITS,
  ): Promise<ImportSummary & { files: number }> {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'store-admin-import-'));
    try {
      const files = await extractZip(zipFile, dir, limits);
      const summary = await createImporter({ db, media, clock, ffmpegPath, labels: { ownLabelName } }).importFolder(dir);
      const detail = `${originalName.slice(0, 100)}: ${files} files; added ${summary.added}, updated ${summary.updated}, unchanged ${summary.unchanged}, skipped ${summary.skipped.length}`;
      await recordAudit(db, { operatorId, action: 'catalogue.import', target: 'catalogue', detail }, clock());
      catalogueChanged();
      return { ...summary, files };
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  }

  return { editRelease, setHidden, replaceCover, importZip };
}

export type CatalogueAdmin = ReturnType<typeof createCatalogueAdmin>;

/** JPEG or PNG by their first bytes (whatever the file is called or claims to be); null for anything else. */
export function imageKind(bytes: Buffer): 'jpg' | 'png' | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpg';
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  return null;
}
