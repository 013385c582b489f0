import { Router, type Request } from 'express';
import { z } from 'zod';
import { createMediaFiles } from '../../media/media-files.js';
import { HttpError } from '../../web/errors.js';
import { flash } from '../../web/flash.js';
import { pageNumber, parseQuery } from '../../web/params.js';
import { operatorOf } from '../access/session.js';
import type { AdminDeps } from '../deps.js';
import { parsePounds, poundsText } from './prices.js';
import * as repo from './repository.js';
import { createCatalogueAdmin, imageKind, MAX_TITLE_LENGTH, type ReleaseEdit } from './service.js';
import { COVER_PATH, IMPORT_PATH, MAX_COVER_BYTES, MAX_ZIP_BYTES } from './uploads.js';
import { ZipRefused } from './zip.js';

function releaseId(req: Request): number {
  const id = /^[1-9]\d{0,9}$/.test(String(req.params.id)) ? Number(req.params.id) : NaN;
  if (!Number.isSafeInteger(id)) throw new HttpError(404, 'There is no such release.');
  return id;
}

function title(value: unknown, what: string): string {
  const text = typeof value === 'string' ? value.trim().replace(/\s+/g, ' ') : '';
  if (!text || text.length > MAX_TITLE_LENGTH) throw new HttpError(400, `${what} must be 1 to ${MAX_TITLE_LENGTH} characters.`);
  return text;
}

function price(value: unknown, what: string): number | null {
  const pence = parsePounds(typeof value === 'string' ? value : '');
  if (pence === undefined) throw new HttpError(400, `${what} must be an amount in pounds such as 6.99, or empty for the default price.`);
  return pence;
}

/** The edit form: the release's title and price, and each listed track's, as `track_ID_title` / `track_ID_price`. */
function readEdit(body: Record<string, unknown>, trackIds: number[]): ReleaseEdit {
  return {
    title: title(body.title, 'The title'),
    pricePence: price(body.price, 'The release price'),
    tracks: trackIds
      .filter((id) => `track_${id}_title` in body)
      .map((id) => ({
        id,
        title: title(body[`track_${id}_title`], `The title of track ${id}`),
        pricePence: price(body[`track_${id}_price`], `The price of track ${id}`),
      })),
  };
}

export function catalogueAdminRoutes(deps: AdminDeps): Router {
  const router = Router();
  const admin = createCatalogueAdmin({
    db: deps.db,
    clock: deps.clock,
    media: createMediaFiles(deps.storage),
    ffmpegPath: deps.config.media.ffmpegPath,
    catalogueChanged: deps.catalogueChanged,
    ownLabelName: deps.config.labels.ownLabelName,
  });
  const limits = { maxZipMb: Math.round(MAX_ZIP_BYTES / 1024 / 1024), maxCoverMb: Math.round(MAX_COVER_BYTES / 1024 / 1024) };

  router.get('/admin/catalogue', async (req, res) => {
    const { page } = parseQuery(z.object({ page: pageNumber }), req.query);
    const { rows, total } = await repo.listReleases(deps.db, page);
    res.render('admin/catalogue/list', {
      title: 'Catalogue',
      section: 'catalogue',
      releases: rows,
      page,
      pageCount: Math.max(1, Math.ceil(total / repo.RELEASES_PAGE_SIZE)),
      total,
      limits,
    });
  });

  router.get('/admin/catalogue/releases/:id', async (req, res) => {
    const id = releaseId(req);
    const release = await repo.findRelease(deps.db, id);
    if (!release) throw new HttpError(404, 'There is no such release.');
    const tracks = await repo.tracksOf(deps.db, id);
    res.render('admin/catalogue/release', {
      title: release.title,
      section: 'catalogue',
      release,
      tracks,
      poundsText,
      limits,
      defaults: deps.config.prices,
    });
  });

  router.post('/admin/catalogue/releases/:id', async (req, res) => {
    const id = releaseId(req);
    const tracks = await repo.tracksOf(deps.db, id);
    const changes = await admin.editRelease(
      operatorOf(req).id,
      id,
      readEdit(
        (req.body ?? {}) as Record<string, unknown>,
        tracks.map((t) => t.id),
      ),
    );
    if (changes === null) throw new HttpError(404, 'There is no such release.');
    flash(req, 'info', changes.length ? `Saved: ${changes.length} change${changes.length === 1 ? '' : 's'}.` : 'Nothing changed.');
    res.redirect(303, `/admin/catalogue/releases/${id}`);
  });

  router.post('/admin/catalogue/releases/:id/visibility', async (req, res) => {
    const id = releaseId(req);
    const { hidden } = z.object({ hidden: z.enum(['yes', 'no']) }).safeParse(req.body ?? {}).data ?? {};
    if (!hidden) throw new HttpError(400, 'Choose whether to hide or show the release.');
    if (!(await admin.setHidden(operatorOf(req).id, id, hidden === 'yes'))) throw new HttpError(404, 'There is no such release.');
    flash(
      req,
      'info',
      hidden === 'yes'
        ? 'The release is hidden: it is off the catalogue, search and sitemap. Its buyers keep their downloads.'
        : 'The release is on sale again.',
    );
    res.redirect(303, `/admin/catalogue/releases/${id}`);
  });

  // The file was parsed (and the CSRF token checked) before this point: see uploads.ts.
  router.post(COVER_PATH, async (req, res) => {
    const id = releaseId(req);
    const file = req.file;
    if (!file || file.size === 0) throw new HttpError(400, 'Please choose an image file.');
    const kind = imageKind(file.buffer);
    if (!kind) throw new HttpError(415, 'The cover must be a JPEG or PNG image.');
    if (!(await admin.replaceCover(operatorOf(req).id, id, file.buffer, kind))) throw new HttpError(404, 'There is no such release.');
    flash(req, 'info', 'The cover is replaced.');
    res.redirect(303, `/admin/catalogue/releases/${id}`);
  });

  router.post(IMPORT_PATH, async (req, res) => {
    const file = req.file;
    if (!file || file.size === 0) throw new HttpError(400, 'Please choose a zip file of a music folder.');
    try {
      const summary = await admin.importZip(operatorOf(req).id, file.path, file.originalname);
      res.render('admin/catalogue/imported', { title: 'Import finished', section: 'catalogue', summary, name: file.originalname });
    } catch (error) {
      if (error instanceof ZipRefused) throw new HttpError(400, `The zip was not imported: ${error.message}.`);
      throw error;
    }
  });

  return router;
}
