import path from 'node:path';
import { Router, type Request, type RequestHandler } from 'express';
import { z } from 'zod';
import { jsonLdScriptText, musicAlbum } from '../labels/json-ld.js';
import { HttpError } from '../web/errors.js';
import { pageNumber, parseQuery } from '../web/params.js';
import type { CatalogueRepository } from './repository.js';
import { SEARCH_KINDS, type CatalogueService } from './service.js';

const GENRE_PAGE_SIZE = 24;
const SEARCH_PAGE_SIZE = 20;
const SEARCH_OVERVIEW_SIZE = 6;
const ONE_YEAR_S = 365 * 24 * 3600;

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
  mediaDir: string;
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

export function catalogueRoutes({ catalogue, repo, mediaDir, publicUrl, visitorPages }: CatalogueRouteDeps): Router {
  const router = Router();
  const mediaRoot = path.resolve(mediaDir);

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
    });
  });

  router.get('/genre/:slug', visitorPages, async (req, res) => {
    const { page } = parseQuery(z.object({ page: pageNumber }), req.query);
    const genre = await catalogue.genre(slugOf(req, 'genre'), page, GENRE_PAGE_SIZE);
    if (!genre) throw notFound('genre');
    res.render('catalogue/genre', { title: `${genre.name} music`, description: `${genre.name} releases to preview and download as MP3.`, genre });
  });

  router.get('/search', visitorPages, async (req, res) => {
    if (typeof req.query.q === 'string' && req.query.q.length > MAX_SEARCH_LENGTH) throw new HttpError(400, `Your search is too long: use at most ${MAX_SEARCH_LENGTH} characters.`);
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
    // send() answers Range requests, so the player can seek and resume.
    res.sendFile(track.preview_file, { root: mediaRoot, maxAge: '1d', headers: { 'Content-Type': 'audio/mpeg' } });
  });

  router.get('/cover/:id', async (req, res) => {
    const release = await repo.coverFile(idFrom(req.params.id, /^(\d{1,12})$/, 'cover'));
    if (!release?.cover_file) throw notFound('cover');
    res.sendFile(release.cover_file, { root: mediaRoot, maxAge: ONE_YEAR_S * 1000, immutable: true });
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
