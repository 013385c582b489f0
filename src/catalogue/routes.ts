import { Router, type Request, type RequestHandler } from 'express';
import { z } from 'zod';
import { deliverObject } from '../media/deliver.js';
import { contentTypeOf } from '../media/media-files.js';
import { FORMATS, type FormatId } from '../media/formats.js';
import type { MasterFormat } from '../db/schema.js';
import type { MediaStorage } from '../media/storage.js';
import { jsonLdScriptText, musicAlbum } from '../labels/json-ld.js';
import { HttpError } from '../web/errors.js';
import { pageNumber, parseQuery } from '../web/params.js';
import { fallbackFormat, isCoverSize, type CoverVariants } from './cover-variants.js';
import type { CatalogueRepository } from './repository.js';
import { SEARCH_KINDS, type CatalogueService } from './service.js';

const GENRE_PAGE_SIZE = 24;
const SEARCH_PAGE_SIZE = 20;
const SEARCH_OVERVIEW_SIZE = 6;
const ONE_YEAR_S = 365 * 24 * 3600;
const ONE_DAY_S = 24 * 3600;

const slugParam = z.string().regex(/^[a-z0-9-]{1,220}$/);
/** The longest search answered; a longer one is told so in words (a shopper pasted something, most likely). */
export const MAX_SEARCH_LENGTH = 200;
const searchQuery = z.object({
  q: z.string().max(MAX_SEARCH_LENGTH).default(''),
  type: z.enum(SEARCH_KINDS).optional(),
  page: pageNumber,
});

export interface CatalogueRouteDeps {
  catalogue: CatalogueService;
  repo: CatalogueRepository;
  storage: MediaStorage;
  /** PUBLIC_MEDIA_URL: covers and previews are served from there (a CDN) when set. */
  publicMediaUrl: string | null;
  /** Which formats a track is offered in (src/media/formats.ts). */
  offeredFormats: (masterFormat: MasterFormat) => FormatId[];
  covers: CoverVariants;
  publicUrl: string | undefined;
  /** Shares whole pages between visitors without a session (see visitor-page-cache.ts). */
  visitorPages: RequestHandler;
}

const notFound = (what: string) => new HttpError(404, `We could not find that ${what}.`);

function slugOf(req: Request, what: string): string {
  const parsed = slugParam.safeParse(req.params.slug);
  if (!parsed.success) throw notFound(what);
  return parsed.data;
}

/** A numeric id taken from a path segment such as "42" or "42.mp3"; anything else is a 404. */
function idFrom(segment: string | undefined, pattern: RegExp, what: string): number {
  const match = pattern.exec(segment ?? '');
  const id = match ? Number(match[1]) : NaN;
  if (!Number.isSafeInteger(id) || id < 1) throw notFound(what);
  return id;
}

export function catalogueRoutes({
  catalogue,
  repo,
  storage,
  publicMediaUrl,
  offeredFormats,
  covers,
  publicUrl,
  visitorPages,
}: CatalogueRouteDeps): Router {
  const router = Router();

  router.get('/', visitorPages, async (_req, res) => {
    res.render('catalogue/home', { title: 'Music downloads', ...(await catalogue.home()) });
  });

  router.get('/artist/:slug', visitorPages, async (req, res) => {
    const artist = await catalogue.artist(slugOf(req, 'artist'));
    if (!artist) throw notFound('artist');
    res.render('catalogue/artist', { title: artist.name, description: `Releases by ${artist.name}: previews and MP3 downloads.`, artist });
  });

  router.get('/release/:slug', visitorPages, async (req, res) => {
    const release = await catalogue.release(slugOf(req, 'release'));
    if (!release) throw notFound('release');
    const origin = publicUrl ?? `${req.protocol}://${req.get('host')}`;
    res.render('catalogue/release', {
      jsonLd: jsonLdScriptText(musicAlbum(origin, { ...release, buyable: release.availability.state === 'on-sale' })),
      title: `${release.title} by ${release.artistName}`,
      description: `${release.title}, ${release.kind === 'single' ? 'a single' : `an ${release.kind === 'ep' ? 'EP' : 'album'}`} by ${release.artistName}: ${release.trackCount} tracks to preview and download as MP3.`,
      release,
      // What a buyer may download: the formats of its tracks, in the store's order.
      formats: [...new Set(release.tracks.flatMap((t) => offeredFormats(t.masterFormat)))].map((id) => FORMATS[id].label),
    });
  });

  router.get('/genre/:slug', visitorPages, async (req, res) => {
    const { page } = parseQuery(z.object({ page: pageNumber }), req.query);
    const genre = await catalogue.genre(slugOf(req, 'genre'), page, GENRE_PAGE_SIZE);
    if (!genre) throw notFound('genre');
    res.render('catalogue/genre', {
      title: `${genre.name} music`,
      description: `${genre.name} releases to preview and download as MP3.`,
      genre,
    });
  });

  router.get('/search', visitorPages, async (req, res) => {
    if (typeof req.query.q === 'string' && req.query.q.length > MAX_SEARCH_LENGTH)
      throw new HttpError(400, `Your search is too long: use at most ${MAX_SEARCH_LENGTH} characters.`);
    const { q, type, page } = parseQuery(searchQuery, req.query);
    const kinds = type ? [type] : SEARCH_KINDS;
    const pageSize = type ? SEARCH_PAGE_SIZE : SEARCH_OVERVIEW_SIZE;
    const pages = await Promise.all(kinds.map((kind) => catalogue.search(q, kind, type ? page : 1, pageSize)));
    const results = Object.fromEntries(kinds.map((kind, i) => [kind, pages[i]]));
    res.render('catalogue/search', { title: q ? `Search: ${q}` : 'Search', robots: 'noindex', q, type, results });
  });

  router.get('/preview/:file', async (req, res) => {
    const track = await repo.previewFile(idFrom(req.params.file, /^(\d{1,12})\.mp3$/, 'preview'));
    if (!track) throw notFound('preview');
    // Range requests are answered (by the store or the object store), so the player can seek and resume.
    await deliverObject(req, res, storage, track.preview_file, {
      contentType: 'audio/mpeg',
      cacheControl: `public, max-age=${ONE_DAY_S}`,
      presignSeconds: ONE_DAY_S,
      publicBase: publicMediaUrl,
    });
  });

  router.get('/cover/:id', async (req, res) => {
    const release = await repo.coverFile(idFrom(req.params.id, /^(\d{1,12})$/, 'cover'));
    if (!release?.cover_file) throw notFound('cover');
    // A cover's key is its content hash: the object never changes, so it is cached for a year.
    await deliverObject(req, res, storage, release.cover_file, {
      contentType: contentTypeOf(release.cover_file),
      cacheControl: `public, max-age=${ONE_YEAR_S}, immutable`,
      presignSeconds: ONE_DAY_S,
      publicBase: publicMediaUrl,
    });
  });

  // A cover at the size a page shows it: /cover/42/card.webp, or /cover/42/card in the cover's own format.
  router.get('/cover/:id/:variant', async (req, res) => {
    const [, size, webp] = /^([a-z]{1,10})(\.webp)?$/.exec(req.params.variant ?? '') ?? [];
    if (!size || !isCoverSize(size)) throw notFound('cover');
    const release = await repo.coverFile(idFrom(req.params.id, /^(\d{1,12})$/, 'cover'));
    if (!release?.cover_file) throw notFound('cover');
    const file = await covers.variant(release.cover_file, size, webp ? 'webp' : fallbackFormat(release.cover_file));
    if (!file) throw notFound('cover');
    // Named by the original's content hash, a variant never changes either.
    await deliverObject(req, res, storage, file, {
      contentType: contentTypeOf(file),
      cacheControl: `public, max-age=${ONE_YEAR_S}, immutable`,
      presignSeconds: ONE_DAY_S,
      publicBase: publicMediaUrl,
    });
  });

  router.get('/sitemap.xml', async (req, res) => {
    const origin = publicUrl ?? `${req.protocol}://${req.get('host')}`;
    const entries = [{ path: '/', lastModified: null as string | null }, ...(await catalogue.sitemap())];
    res.type('application/xml').render('catalogue/sitemap', { layout: false, origin, entries });
  });

  router.get('/robots.txt', (req, res) => {
    const origin = publicUrl ?? `${req.protocol}://${req.get('host')}`;
    res.type('text/plain').send(`User-agent: *\nDisallow: /search\nDisallow: /preview/\nSitemap: ${origin}/sitemap.xml\n`);
  });

  return router;
}
