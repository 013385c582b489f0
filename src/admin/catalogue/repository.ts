/** SQL for the operator's catalogue pages: every release (hidden ones too), and edits to titles, prices, visibility and covers. */
import { sql, type Transaction } from 'kysely';
import type { Db } from '../../db/database.js';
import type { Database } from '../../db/schema.js';
import { replaceSearchTerms } from '../../catalogue/importer/repository.js';

type Tx = Transaction<Database> | Db;

export const RELEASES_PAGE_SIZE = 50;

/** What the operator sees of a release, in the list and on its page. */
const releaseColumns = [
  'releases.id',
  'releases.title',
  'releases.slug',
  'releases.kind',
  'releases.price_pence',
  'releases.hidden',
  'releases.cover_file',
] as const;

const trackCount = sql<number>`(select count(*) from tracks where tracks.release_id = releases.id)`.as('track_count');
const soldCount =
  sql<number>`(select count(*) from order_items inner join orders on orders.id = order_items.order_id where order_items.release_id = releases.id and orders.status = 'paid')`.as(
    'sold',
  );

export async function listReleases(db: Db, page: number) {
  const [rows, total] = await Promise.all([
    db
      .selectFrom('releases')
      .innerJoin('artists', 'artists.id', 'releases.artist_id')
      .select([...releaseColumns, 'artists.name as artist', trackCount, soldCount])
      .orderBy('artists.name')
      .orderBy('releases.title')
      .orderBy('releases.id')
      .limit(RELEASES_PAGE_SIZE)
      .offset((page - 1) * RELEASES_PAGE_SIZE)
      .execute(),
    db
      .selectFrom('releases')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow(),
  ]);
  return { rows: rows.map((r) => ({ ...r, track_count: Number(r.track_count), sold: Number(r.sold) })), total: Number(total.n) };
}

export async function findRelease(db: Tx, id: number) {
  return db
    .selectFrom('releases')
    .innerJoin('artists', 'artists.id', 'releases.artist_id')
    .select([...releaseColumns, 'releases.updated_at', 'artists.name as artist'])
    .where('releases.id', '=', id)
    .executeTakeFirst();
}

export async function tracksOf(db: Tx, releaseId: number) {
  return db
    .selectFrom('tracks')
    .innerJoin('artists', 'artists.id', 'tracks.artist_id')
    .select([
      'tracks.id',
      'tracks.disc_number',
      'tracks.track_number',
      'tracks.title',
      'tracks.price_pence',
      'tracks.duration_ms',
      'artists.name as artist',
    ])
    .where('tracks.release_id', '=', releaseId)
    .orderBy('tracks.disc_number')
    .orderBy('tracks.track_number')
    .orderBy('tracks.id')
    .execute();
}

export async function updateRelease(tx: Tx, id: number, fields: { title: string; pricePence: number | null }, now: string): Promise<void> {
  await tx
    .updateTable('releases')
    .set({ title: fields.title, price_pence: fields.pricePence, updated_at: now })
    .where('id', '=', id)
    .execute();
}

export async function updateTrack(
  tx: Tx,
  id: number,
  releaseId: number,
  fields: { title: string; pricePence: number | null },
  now: string,
): Promise<void> {
  await tx
    .updateTable('tracks')
    .set({ title: fields.title, price_pence: fields.pricePence, updated_at: now })
    .where('id', '=', id)
    .where('release_id', '=', releaseId)
    .execute();
}

export async function setHidden(tx: Tx, id: number, hidden: boolean, now: string): Promise<void> {
  await tx
    .updateTable('releases')
    .set({ hidden: hidden ? 1 : 0, updated_at: now })
    .where('id', '=', id)
    .execute();
}

export async function setCover(tx: Tx, id: number, coverFile: string, now: string): Promise<void> {
  // updated_at changes the cover's URL (?v=...), so browsers fetch the new image.
  await tx.updateTable('releases').set({ cover_file: coverFile, updated_at: now }).where('id', '=', id).execute();
}

/**
 * Search words follow what is on sale: a hidden release and its tracks leave the index (so search
 * counts stay right), and come back, from the current titles, when it is shown again.
 */
export async function refreshSearchTerms(tx: Tx, releaseId: number): Promise<void> {
  const release = await findRelease(tx, releaseId);
  if (!release) return;
  const tracks = await tracksOf(tx, releaseId);
  if (release.hidden) {
    await tx.deleteFrom('search_terms').where('kind', '=', 'release').where('entity_id', '=', releaseId).execute();
    if (tracks.length)
      await tx
        .deleteFrom('search_terms')
        .where('kind', '=', 'track')
        .where(
          'entity_id',
          'in',
          tracks.map((t) => t.id),
        )
        .execute();
    return;
  }
  await replaceSearchTerms(tx, 'release', releaseId, `${release.title} ${release.artist}`);
  for (const track of tracks) await replaceSearchTerms(tx, 'track', track.id, `${track.title} ${track.artist}`);
}
