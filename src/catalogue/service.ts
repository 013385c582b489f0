import type { DatePrecision } from '../db/schema.js';
import { toDbTime } from '../db/dialect.js';
import type { MasterFormat } from '../db/schema.js';
import { availabilityOn, todayUtc, type Availability } from '../labels/availability.js';
import type { CatalogueRepository, ReleaseRow, TrackListingRow, TrackRow } from './repository.js';
import type { PageCache } from './page-cache.js';
import { searchWords } from './words.js';

export interface Prices {
  trackPence: number;
  releasePence: number;
}

export interface ReleaseCard {
  id: number;
  title: string;
  url: string;
  kind: string;
  year: string | null;
  releaseDate: string | null;
  /** How much of releaseDate is known: a year-only date is shown as its year. */
  releaseDatePrecision: DatePrecision;
  artistName: string;
  artistUrl: string;
  genreName: string | null;
  genreUrl: string | null;
  coverUrl: string | null;
  trackCount: number;
  pricePence: number;
  labelName: string | null;
  icpn: string | null;
  catalogueNumber: string | null;
  pLine: string | null;
  cLine: string | null;
  parentalWarning: string | null;
  /** On sale today, not yet ("Available from"), or no longer: only on-sale releases can be bought. */
  availability: Availability;
}

export interface TrackLine {
  id: number;
  releaseId: number;
  number: number;
  disc: number;
  title: string;
  artistName: string;
  artistUrl: string;
  durationMs: number;
  bitrateKbps: number;
  /** mp3: sold as imported; flac or wav: a lossless master, sold in the formats on sale. */
  masterFormat: MasterFormat;
  pricePence: number;
  previewUrl: string;
  isrc: string | null;
}

export interface Page<T> {
  items: T[];
  page: number;
  pageCount: number;
  total: number;
}

const CHART_DAYS = 7;
const CHART_SIZE = 10;
/** The home page's shelf of new releases fills whole rows: it has 6 columns on a laptop or wider (3 or 2 on smaller screens). */
const SHELF_COLUMNS = 6;
const SHELF_MAX = 12;

/** How many of `available` releases the shelf shows: whole rows of SHELF_COLUMNS, up to SHELF_MAX; all of them when there are fewer than a row. */
export function shelfSize(available: number): number {
  if (available < SHELF_COLUMNS) return available;
  return Math.min(SHELF_MAX, available - (available % SHELF_COLUMNS));
}
export const SEARCH_KINDS = ['artist', 'release', 'track'] as const;
export type SearchKindName = (typeof SEARCH_KINDS)[number];

export const artistUrl = (slug: string) => `/artist/${slug}`;
export const releaseUrl = (slug: string) => `/release/${slug}`;
export const genreUrl = (slug: string) => `/genre/${slug}`;
export const previewUrl = (trackId: number) => `/preview/${trackId}.mp3`;
/** The version in the query lets browsers cache cover art for a long time and still see a new cover. */
const coverUrl = (releaseId: number, coverFile: string | null, updatedAt: string) =>
  coverFile ? `/cover/${releaseId}?v=${updatedAt.replace(/\D/g, '')}` : null;

export function createCatalogueService(
  repo: CatalogueRepository,
  prices: Prices,
  clock: () => Date = () => new Date(),
  cached: PageCache = (_key, load) => load(),
) {
  const trackPrice = (pricePence: number | null) => pricePence ?? prices.trackPence;
  // A release never costs more than buying its tracks one by one.
  const releasePrice = (row: ReleaseRow) => row.price_pence ?? Math.min(prices.releasePence, Number(row.track_count) * prices.trackPence);

  const availability = (from: string | null, until: string | null) => availabilityOn(todayUtc(clock()), { from, until });
  const onSale = (item: { availability: Availability }) => item.availability.state === 'on-sale';

  const toCard = (row: ReleaseRow): ReleaseCard => ({
    id: row.id,
    title: row.title,
    url: releaseUrl(row.slug),
    kind: row.kind,
    year: row.release_date ? row.release_date.slice(0, 4) : null,
    releaseDate: row.release_date,
    releaseDatePrecision: row.release_date_precision,
    artistName: row.artist_name,
    artistUrl: artistUrl(row.artist_slug),
    genreName: row.genre_name,
    genreUrl: row.genre_slug ? genreUrl(row.genre_slug) : null,
    coverUrl: coverUrl(row.id, row.cover_file, row.updated_at),
    trackCount: Number(row.track_count),
    pricePence: releasePrice(row),
    labelName: row.label_name,
    icpn: row.icpn,
    catalogueNumber: row.catalogue_number,
    pLine: row.p_line,
    cLine: row.c_line,
    parentalWarning: row.parental_warning,
    availability: availability(row.on_sale_from, row.on_sale_until),
  });

  const toLine = (row: TrackRow): TrackLine => ({
    id: row.id,
    releaseId: row.release_id,
    number: row.track_number,
    disc: row.disc_number,
    title: row.title,
    artistName: row.artist_name,
    artistUrl: artistUrl(row.artist_slug),
    durationMs: row.duration_ms,
    bitrateKbps: row.bitrate_kbps,
    masterFormat: row.master_format,
    pricePence: trackPrice(row.price_pence),
    previewUrl: previewUrl(row.id),
    isrc: row.isrc,
  });

  const toListing = (row: TrackListingRow) => ({
    ...toLine(row),
    releaseTitle: row.release_title,
    releaseUrl: releaseUrl(row.release_slug),
    coverUrl: coverUrl(row.release_id, row.release_cover_file, row.release_updated_at),
    availability: availability(row.release_on_sale_from, row.release_on_sale_until),
  });

  function pageOf<T>(items: T[], page: number, pageSize: number, total: number): Page<T> {
    return { items, page, pageCount: Math.max(1, Math.ceil(total / pageSize)), total };
  }

  /** Loads rows by id and returns them in the order of `ids`. */
  function inOrder<R extends { id: number }>(ids: number[], rows: R[]): R[] {
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id)).filter((r): r is R => r !== undefined);
  }

  // Page data is cached briefly; what the basket and checkout read is always fresh.
  return {
    home: () => cached('home', () => home()),
    artist: (slug: string) => cached(`artist:${slug}`, () => artist(slug)),
    release: (slug: string) => cached(`release:${slug}`, () => release(slug)),
    genre: (slug: string, page: number, pageSize: number) => cached(`genre:${slug}:${page}:${pageSize}`, () => genre(slug, page, pageSize)),
    search: (query: string, kind: SearchKindName, page: number, pageSize: number) => {
      const words = searchWords(query).slice(0, 8);
      return cached(`search:${kind}:${page}:${pageSize}:${words.join(' ')}`, () => search(words, kind, page, pageSize));
    },
    sitemap: () => cached('sitemap', () => sitemap()),

    /** Releases and tracks on sale now (inside their deal's window), priced from the database (for the basket and checkout). */
    async releasesForSale(ids: number[]): Promise<ReleaseCard[]> {
      return inOrder(ids, (await repo.releasesByIds(ids)).map(toCard).filter(onSale));
    },

    async tracksForSale(ids: number[]) {
      return inOrder(ids, (await repo.tracksByIds(ids)).map(toListing).filter(onSale));
    },
  };

  async function home() {
    const since = toDbTime(new Date(clock().getTime() - CHART_DAYS * 24 * 3600 * 1000));
    const [newest, sellers, genres] = await Promise.all([
      repo.newestReleases(SHELF_MAX + CHART_SIZE * 2),
      repo.bestSellingReleases(since, CHART_SIZE),
      repo.genresWithCounts(),
    ]);
    const chartIsSales = sellers.length > 0;
    // The two sections never show the same release: the shelf leaves out what the chart ranks, and
    // without sales the list carries on where the shelf stops.
    const charted = new Set(sellers.map((r) => r.id));
    const fresh = newest.filter((r) => !charted.has(r.id));
    const shelf = fresh.slice(0, shelfSize(fresh.length));
    return {
      newReleases: shelf.map(toCard),
      chart: (chartIsSales ? sellers : fresh.slice(shelf.length, shelf.length + CHART_SIZE)).map(toCard),
      chartIsSales,
      genres: genres.map((g) => ({ name: g.name, url: genreUrl(g.slug), releaseCount: Number(g.release_count) })),
    };
  }

  async function artist(slug: string) {
    const found = await repo.artistBySlug(slug);
    if (!found) return undefined;
    const [own, appearsOn] = await Promise.all([repo.releasesByArtist(found.id), repo.releasesArtistAppearsOn(found.id)]);
    return { name: found.name, url: artistUrl(found.slug), releases: own.map(toCard), appearsOn: appearsOn.map(toCard) };
  }

  async function release(slug: string) {
    const row = await repo.releaseBySlug(slug);
    if (!row) return undefined;
    const tracks = (await repo.tracksOfRelease(row.id)).map(toLine);
    const totalMs = tracks.reduce((sum, t) => sum + t.durationMs, 0);
    return { ...toCard(row), tracks, totalMs, discCount: new Set(tracks.map((t) => t.disc)).size };
  }

  async function genre(slug: string, page: number, pageSize: number) {
    const found = await repo.genreBySlug(slug);
    if (!found) return undefined;
    const [rows, total] = await Promise.all([
      repo.releasesInGenre(found.id, pageSize, (page - 1) * pageSize),
      repo.countReleasesInGenre(found.id),
    ]);
    return { name: found.name, url: genreUrl(found.slug), releases: pageOf(rows.map(toCard), page, pageSize, total) };
  }

  /** One page of one kind of search result. */
  async function search(words: string[], kind: SearchKindName, page: number, pageSize: number) {
    if (words.length === 0) return pageOf([], 1, pageSize, 0);
    const { ids, total } = await repo.searchIds(kind, words, pageSize, (page - 1) * pageSize);
    const load = {
      artist: async () => (await repo.artistsByIds(ids)).map((a) => ({ id: a.id, name: a.name, url: artistUrl(a.slug) })),
      release: async () => (await repo.releasesByIds(ids)).map(toCard),
      track: async () => (await repo.tracksByIds(ids)).map(toListing),
    }[kind];
    const items: { id: number }[] = await load();
    return pageOf(inOrder(ids, items), page, pageSize, total);
  }

  async function sitemap() {
    const { artists, releases, genres } = await repo.sitemapEntries();
    return [
      ...artists.map((a) => ({ path: artistUrl(a.slug), lastModified: a.updated_at })),
      ...releases.map((r) => ({ path: releaseUrl(r.slug), lastModified: r.updated_at })),
      ...genres.map((g) => ({ path: genreUrl(g.slug), lastModified: null })),
    ];
  }
}

export type CatalogueService = ReturnType<typeof createCatalogueService>;
