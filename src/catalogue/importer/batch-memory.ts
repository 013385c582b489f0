import type { Transaction } from 'kysely';
import type { Database, ReleaseKind } from '../../db/schema.js';
import { slugify } from '../words.js';
import * as sql from './repository.js';

type Tx = Transaction<Database>;

/**
 * What one import transaction has read and written, so the next file of the same release reads
 * nothing again (its artist, genre, label and release are known), plus the writes kept for the
 * transaction's end: search terms and release kinds, one statement each instead of one per file.
 * Each file works on a copy, kept only when the file's savepoint is released: a file rolled back
 * to its savepoint leaves nothing behind here either. It lives for one transaction, whose snapshot
 * the cached rows belong to.
 */
export class BatchMemory {
  private constructor(
    /** Tracks held, by audio hash: those found when the batch began and those it wrote. */
    readonly tracks: Map<string, sql.ExistingTrack>,
    private artists = new Map<string, number>(),
    private genres = new Map<string, number | null>(),
    private labels = new Map<string, number>(),
    private releases = new Map<string, sql.ImportedRelease>(),
    /** Releases whose kind to settle at the end: the tag of the last file written to each, if any. */
    private kinds = new Map<number, { tagged: ReleaseKind | undefined; movedAway: boolean }>(),
    readonly terms = new sql.PendingSearchTerms(),
  ) {}

  static async start(tx: Tx, hashes: string[]): Promise<BatchMemory> {
    return new BatchMemory(await sql.findTracksByAudio(tx, hashes));
  }

  copy(): BatchMemory {
    return new BatchMemory(
      new Map(this.tracks),
      new Map(this.artists),
      new Map(this.genres),
      new Map(this.labels),
      new Map(this.releases),
      new Map(this.kinds),
      this.terms.copy(),
    );
  }

  async artistId(tx: Tx, name: string, now: string): Promise<number> {
    return remembered(this.artists, slugify(name), () => sql.findOrCreateArtist(tx, name, now, this.terms));
  }

  async genreId(tx: Tx, name: string | undefined): Promise<number | null> {
    return name ? remembered(this.genres, slugify(name), () => sql.findOrCreateGenre(tx, name)) : null;
  }

  /** `name` undefined: the fallback or own label, which is the same for every file of an import. */
  async labelId(name: string | undefined, find: () => Promise<number>): Promise<number> {
    return remembered(this.labels, name === undefined ? '' : `=${name}`, find);
  }

  async release(tx: Tx, fields: sql.ReleaseFields, now: string): Promise<number> {
    const known = this.releases.get(fields.importKey) ?? (await sql.findReleaseByImportKey(tx, fields.importKey));
    const saved = await sql.saveRelease(tx, known, fields, now, this.terms);
    this.releases.set(fields.importKey, saved);
    return saved.id;
  }

  /** The release's kind is settled at the end, once its tracks are all in (the last file's tag wins, as one by one). */
  settleKind(releaseId: number, tagged: ReleaseKind | undefined): void {
    this.kinds.set(releaseId, { tagged, movedAway: false });
  }

  /**
   * A retag moved a track away from its release, which may have been removed with its artist:
   * forget every release and artist read, and settle the old release's kind by its count.
   */
  movedAway(releaseId: number): void {
    this.releases.clear();
    this.artists.clear();
    this.kinds.set(releaseId, { tagged: undefined, movedAway: true });
  }

  /** The writes kept for the end of the transaction. */
  async finish(tx: Tx): Promise<void> {
    await this.terms.write(tx);
    for (const [releaseId, { tagged, movedAway }] of this.kinds) {
      const settled = sql.settleReleaseKind(tx, releaseId, tagged);
      // A release a retag emptied may be gone or hidden; its kind no longer matters.
      await (movedAway ? settled.catch(() => {}) : settled);
    }
  }
}

async function remembered<K, V>(map: Map<K, V>, key: K, find: () => Promise<V>): Promise<V> {
  if (map.has(key)) return map.get(key)!;
  const value = await find();
  map.set(key, value);
  return value;
}
