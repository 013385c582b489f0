import type { Db } from '../src/db/database.js';
import { toDbTime } from '../src/db/dialect.js';
import { searchWords, slugify } from '../src/catalogue/words.js';

/** A large, made-up catalogue written straight into the tables (no audio: pages are what is measured). */
export const BENCH_ARTIST_PREFIX = 'Bench Artist';
const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'ra',
  'ven',
  'tor',
  'sel',
  'dun',
  'fay',
  'mor',
  'quin',
  'zed',
  'bel',
  'cor',
  'nia',
  'os',
  'pri',
  'sum',
  'tal',
  'vex',
];
const GENRES = ['Electronic', 'Jazz', 'Rock', 'Ambient', 'Hip-Hop', 'Folk', 'Classical', 'Soul', 'Pop', 'Metal'];

function wordFrom(n: number): string {
  let word = '';
  for (let i = 0; i < 3; i++) {
    word += SYLLABLES[n % SYLLABLES.length];
    n = Math.floor(n / SYLLABLES.length) + i * 7;
  }
  return word[0]!.toUpperCase() + word.slice(1);
}

const titleFrom = (seed: number, words: number) => Array.from({ length: words }, (_, i) => wordFrom(seed * 31 + i * 977)).join(' ');

async function insertBatches<T>(db: Db, table: string, rows: T[], size = 1000): Promise<void> {
  for (let i = 0; i < rows.length; i += size) {
    await db
      .insertInto(table as 'artists')
      .values(rows.slice(i, i + size) as never)
      .execute();
  }
}

export async function generateBenchCatalogue(db: Db, trackCount: number, onProgress: (message: string) => void): Promise<void> {
  const now = toDbTime(new Date());
  const tracksPerRelease = 10;
  const releaseCount = Math.ceil(trackCount / tracksPerRelease);
  const artistCount = Math.ceil(releaseCount / 5);

  await insertBatches(
    db,
    'genres',
    GENRES.map((name, i) => ({ id: i + 1, name, slug: slugify(name) })),
  );
  const artists = Array.from({ length: artistCount }, (_, i) => ({
    id: i + 1,
    name: `${BENCH_ARTIST_PREFIX} ${wordFrom(i)} ${i + 1}`,
    created_at: now,
  }));
  await insertBatches(
    db,
    'artists',
    artists.map((a) => ({ ...a, slug: slugify(a.name) })),
  );
  onProgress(`${artistCount} artists`);

  const releases = Array.from({ length: releaseCount }, (_, i) => {
    const title = titleFrom(i, 2);
    const day = new Date(Date.UTC(2015, 0, 1) + (i % 4000) * 86400_000);
    return {
      id: i + 1,
      artist_id: (i % artistCount) + 1,
      genre_id: (i % GENRES.length) + 1,
      import_key: `bench/${i + 1}`,
      title,
      slug: `${slugify(title)}-${i + 1}`,
      kind: 'album' as const,
      release_date: day.toISOString().slice(0, 10),
      price_pence: null,
      cover_file: null,
      created_at: now,
      updated_at: now,
    };
  });
  await insertBatches(db, 'releases', releases);
  onProgress(`${releaseCount} releases`);

  const terms: { term: string; kind: string; entity_id: number }[] = [];
  const addTerms = (kind: string, id: number, text: string) =>
    searchWords(text).forEach((term) => terms.push({ term, kind, entity_id: id }));
  artists.forEach((a) => addTerms('artist', a.id, a.name));
  releases.forEach((r) => addTerms('release', r.id, `${r.title} ${artists[r.artist_id - 1]!.name}`));

  const tracks = [];
  for (let i = 0; i < trackCount; i++) {
    const release = releases[Math.floor(i / tracksPerRelease)]!;
    const title = titleFrom(i + 100_000, 3);
    tracks.push({
      id: i + 1,
      release_id: release.id,
      artist_id: release.artist_id,
      disc_number: 1,
      track_number: (i % tracksPerRelease) + 1,
      title,
      duration_ms: 120_000 + ((i * 7919) % 240_000),
      bitrate_kbps: 320,
      price_pence: null,
      media_file: `tracks/bench/${i + 1}.mp3`,
      preview_file: `previews/bench/${i + 1}.mp3`,
      file_bytes: 8_000_000,
      audio_sha256: (i + 1).toString(16).padStart(64, '0'),
      tags_sha256: '0'.repeat(64),
      created_at: now,
      updated_at: now,
    });
    addTerms('track', i + 1, `${title} ${artists[release.artist_id - 1]!.name}`);
  }
  await insertBatches(db, 'tracks', tracks);
  onProgress(`${trackCount} tracks`);
  await insertBatches(db, 'search_terms', terms, 2000);
  onProgress(`${terms.length} search terms`);
}

/** A word that appears in many titles, for a realistic search. */
export const benchSearchQuery = () => wordFrom(5).slice(0, 4).toLowerCase();

/** `count` different searches of the same shape (a typed word's first four letters), none answered from a cache. */
export const benchSearchQueries = (count: number) =>
  Array.from({ length: count }, (_, i) =>
    wordFrom(101 + i * 37)
      .slice(0, 4)
      .toLowerCase(),
  );
