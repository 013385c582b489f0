import { sql, type SelectQueryBuilder } from 'kysely';
import type { Db } from '../db/database.js';
import type { Database, DatePrecision, MasterFormat, ReleaseKind, SearchKind } from '../db/schema.js';
import { prefixUpperBound } from './words.js';

/** SQL for reading the catalogue. Prices are raw here (null = default); the service applies defaults. */

export interface ReleaseRow {
  id: number;
  title: string;
  slug: string;
  kind: ReleaseKind;
  release_date: string | null;
  release_date_precision: DatePrecision;
  price_pence: number | null;
  cover_file: string | null;
  updated_at: string;
  artist_name: string;
  artist_slug: string;
  genre_name: string | null;
  genre_slug: string | null;
  track_count: number;
  label_name: string | null;
  icpn: string | null;
  catalogue_number: string | null;
  p_line: string | null;
  c_line: string | null;
  parental_warning: string | null;
  on_sale_from: string | null;
  on_sale_until: string | null;
}

export interface TrackRow {
  id: number;
  release_id: number;
  disc_number: number;
  track_number: number;
  title: string;
  duration_ms: number;
  bitrate_kbps: number;
  master_format: MasterFormat;
  price_pence: number | null;
  artist_name: string;
  artist_slug: string;
  isrc: string | null;
}

export interface TrackListingRow extends TrackRow {
  release_title: string;
  release_slug: string;
  release_cover_file: string | null;
  release_updated_at: string;
  release_on_sale_from: string | null;
  release_on_sale_until: string | null;
}

type ReleaseQuery = SelectQueryBuilder<Database, 'releases' | 'artists', object>;

const trackCount = sql<number>`(select count(*) from tracks where tracks.release_id = releases.id and tracks.withdrawn_at is null)`.as(
  'track_count',
);

function selectReleases(db: Db) {
  return db
    .selectFrom('releases')
    .innerJoin('artists', 'artists.id', 'releases.artist_id')
    .leftJoin('genres', 'genres.id', 'releases.genre_id')
    .leftJoin('labels', 'labels.id', 'releases.label_id')
    .where('releases.hidden', '=', 0)
    .select([
      'labels.name as label_name',
      'releases.icpn',
      'releases.catalogue_number',
      'releases.p_line',
      'releases.c_line',
      'releases.parental_warning',
      'releases.on_sale_from',
      'releases.on_sale_until',
      'releases.id',
      'releases.title',
      'releases.slug',
      'releases.kind',
      'releases.release_date',
      'releases.release_date_precision',
      'releases.price_pence',
      'releases.cover_file',
      'releases.updated_at',
      'artists.name as artist_name',
      'artists.slug as artist_slug',
      'genres.name as genre_name',
      'genres.slug as genre_slug',
      trackCount,
    ]);
}

function newestFirst<Q extends ReleaseQuery>(query: Q): Q {
  return query.orderBy('releases.release_date', 'desc').orderBy('releases.id', 'desc') as Q;
}

/** Tracks on sale: one a later DDEX message dropped (withdrawn_at, src/labels/ddex/) is on no page; its buyers keep it. */
function selectTracks(db: Db) {
  return db
    .selectFrom('tracks')
    .innerJoin('artists', 'artists.id', 'tracks.artist_id')
    .where('tracks.withdrawn_at', 'is', null)
    .select([
      'tracks.id',
      'tracks.release_id',
      'tracks.disc_number',
      'tracks.track_number',
      'tracks.title',
      'tracks.duration_ms',
      'tracks.bitrate_kbps',
      'tracks.master_format',
      'tracks.price_pence',
      'tracks.isrc',
      'artists.name as artist_name',
      'artists.slug as artist_slug',
    ]);
}

export function createCatalogueRepository(db: Db) {
  return {
    async newestReleases(limit: number, offset = 0): Promise<ReleaseRow[]> {
      return newestFirst(selectReleases(db)).limit(limit).offset(offset).execute();
    },

    /** Releases ranked by paid order items since `since`; a bought track counts for its release. */
    async bestSellingReleases(since: string, limit: number): Promise<ReleaseRow[]> {
      const sales = db
        .selectFrom('order_items')
        .innerJoin('orders', 'orders.id', 'order_items.order_id')
        .where('orders.status', '=', 'paid')
        .where('orders.paid_at', '>=', since)
        .groupBy('order_items.release_id')
        .select(['order_items.release_id', (eb) => eb.fn.countAll<number>().as('sold')]);
      return selectReleases(db)
        .innerJoin(sales.as('sales'), 'sales.release_id', 'releases.id')
        .orderBy('sales.sold', 'desc')
        .orderBy('releases.id', 'desc')
        .limit(limit)
        .execute();
    },

    async genresWithCounts() {
      return db
        .selectFrom('genres')
        .innerJoin('releases', 'releases.genre_id', 'genres.id')
        .where('releases.hidden', '=', 0)
        .groupBy(['genres.id', 'genres.name', 'genres.slug'])
        .select(['genres.name', 'genres.slug', (eb) => eb.fn.countAll<number>().as('release_count')])
        .orderBy('genres.name')
        .execute();
    },

    async genreBySlug(slug: string) {
      return db.selectFrom('genres').select(['id', 'name', 'slug']).where('slug', '=', slug).executeTakeFirst();
    },

    async releasesInGenre(genreId: number, limit: number, offset: number): Promise<ReleaseRow[]> {
      return newestFirst(selectReleases(db).where('releases.genre_id', '=', genreId))
        .limit(limit)
        .offset(offset)
        .execute();
    },

    async countReleasesInGenre(genreId: number): Promise<number> {
      const row = await db
        .selectFrom('releases')
        .where('genre_id', '=', genreId)
        .where('hidden', '=', 0)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    /** An artist with something on sale (a release of their own, or a track on someone else's); else undefined. */
    async artistBySlug(slug: string) {
      return db
        .selectFrom('artists')
        .select(['id', 'name', 'slug'])
        .where('slug', '=', slug)
        .where(artistIsShown('artists.id'))
        .executeTakeFirst();
    },

    async releasesByArtist(artistId: number): Promise<ReleaseRow[]> {
      return newestFirst(selectReleases(db).where('releases.artist_id', '=', artistId)).execute();
    },

    /** Releases by someone else on which the artist plays a track (compilations, features). */
    async releasesArtistAppearsOn(artistId: number): Promise<ReleaseRow[]> {
      const appearances = db.selectFrom('tracks').select('tracks.release_id').where('tracks.artist_id', '=', artistId);
      return newestFirst(selectReleases(db).where('releases.artist_id', '!=', artistId).where('releases.id', 'in', appearances)).execute();
    },

    async releaseBySlug(slug: string): Promise<ReleaseRow | undefined> {
      return selectReleases(db).where('releases.slug', '=', slug).executeTakeFirst();
    },

    async releasesByIds(ids: number[]): Promise<ReleaseRow[]> {
      if (ids.length === 0) return [];
      return selectReleases(db).where('releases.id', 'in', ids).execute();
    },

    async tracksOfRelease(releaseId: number): Promise<TrackRow[]> {
      return selectTracks(db)
        .where('tracks.release_id', '=', releaseId)
        .orderBy('tracks.disc_number')
        .orderBy('tracks.track_number')
        .execute();
    },

    async tracksByIds(ids: number[]): Promise<TrackListingRow[]> {
      if (ids.length === 0) return [];
      return selectTracks(db)
        .innerJoin('releases', 'releases.id', 'tracks.release_id')
        .where('releases.hidden', '=', 0)
        .where('tracks.id', 'in', ids)
        .select([
          'releases.title as release_title',
          'releases.slug as release_slug',
          'releases.cover_file as release_cover_file',
          'releases.updated_at as release_updated_at',
          'releases.on_sale_from as release_on_sale_from',
          'releases.on_sale_until as release_on_sale_until',
        ])
        .execute();
    },

    async artistsByIds(ids: number[]) {
      if (ids.length === 0) return [];
      return db.selectFrom('artists').select(['id', 'name', 'slug']).where('id', 'in', ids).execute();
    },

    async previewFile(trackId: number) {
      return db
        .selectFrom('tracks')
        .innerJoin('releases', 'releases.id', 'tracks.release_id')
        .where('tracks.id', '=', trackId)
        .where('releases.hidden', '=', 0)
        .select('tracks.preview_file')
        .executeTakeFirst();
    },

    /**
     * Every release's cover, hidden ones too: a buyer's "Your music" still lists a hidden release,
     * the admin shows it, and its buyers already hold the same picture inside the MP3 tags.
     */
    async coverFile(releaseId: number) {
      return db.selectFrom('releases').select('cover_file').where('id', '=', releaseId).executeTakeFirst();
    },

    /**
     * Ids of one kind whose words start with every query word (a self-join per word), ordered by
     * id for stable pages. Each join is an index range scan on (kind, term).
     */
    async searchIds(kind: SearchKind, words: string[], limit: number, offset: number): Promise<{ ids: number[]; total: number }> {
      const matching =
        kind === 'artist' ? matchingEntities(db, kind, words).where(artistIsShown('t0.entity_id')) : matchingEntities(db, kind, words);
      const [rows, count] = await Promise.all([
        matching.select('t0.entity_id').distinct().orderBy('t0.entity_id').limit(limit).offset(offset).execute(),
        db
          .selectFrom(matching.select('t0.entity_id').distinct().as('m'))
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow(),
      ]);
      return { ids: rows.map((r) => r.entity_id), total: Number(count.n) };
    },

    async sitemapEntries() {
      const [artists, releases, genres] = await Promise.all([
        db.selectFrom('artists').select(['slug', 'created_at as updated_at']).where(artistIsShown('artists.id')).execute(),
        db.selectFrom('releases').select(['slug', 'updated_at']).where('hidden', '=', 0).execute(),
        db.selectFrom('genres').select('slug').execute(),
      ]);
      return { artists, releases, genres };
    },

    async isEmpty(): Promise<boolean> {
      const row = await db.selectFrom('tracks').select('id').limit(1).executeTakeFirst();
      return !row;
    },
  };
}

/**
 * Whether the artist whose id is in `artistIdColumn` (`artists.id`, or a search term's `t0.entity_id`)
 * has anything on sale: an artist whose only releases are hidden is hidden with them, from search,
 * the artist page and the sitemap alike. Both lookups use an index (releases_by_artist, tracks_by_artist).
 * They are scalar subqueries (`limit 1`), not `exists`: MariaDB turns an `exists` into an `in` and
 * materialises it, scanning every release for each artist search (4 ms of an 11 ms search on the
 * bench catalogue); a scalar subquery stays a lookup per matching artist.
 */
function artistIsShown(artistIdColumn: string) {
  const id = sql.ref(artistIdColumn);
  return sql<boolean>`((select 1 from releases r where r.artist_id = ${id} and r.hidden = 0 limit 1) is not null or (select 1 from tracks t inner join releases r on r.id = t.release_id where t.artist_id = ${id} and r.hidden = 0 limit 1) is not null)`;
}

function matchingEntities(db: Db, kind: SearchKind, words: string[]) {
  const termRange = (alias: string, word: string) =>
    sql<boolean>`${sql.ref(`${alias}.kind`)} = ${kind} and ${sql.ref(`${alias}.term`)} >= ${word} and ${sql.ref(`${alias}.term`)} < ${prefixUpperBound(word)}`;
  let query = db.selectFrom('search_terms as t0').where(termRange('t0', words[0]!)) as unknown as SelectQueryBuilder<any, any, object>;
  words.slice(1).forEach((word, i) => {
    const alias = `t${i + 1}`;
    query = query.innerJoin(`search_terms as ${alias}`, (join) =>
      join.onRef(`${alias}.entity_id`, '=', 't0.entity_id').on(termRange(alias, word)),
    );
  });
  return query as SelectQueryBuilder<Database & { t0: Database['search_terms'] }, 't0', object>;
}

export type CatalogueRepository = ReturnType<typeof createCatalogueRepository>;
