import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImporter, type Importer } from '../../src/catalogue/importer/importer.js';
import { createMediaFiles } from '../../src/media/media-files.js';
import { createLocalStorage } from '../../src/media/local-storage.js';
import { scanMp3 } from '../../src/catalogue/mp3/frames.js';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../helpers/databases.js';
import { makeMp3, tag } from '../helpers/mp3.js';

describe.each(databaseKinds())('MP3 importer on $kind', ({ kind, skip }) => {
  let database: TestDatabase;
  let importer: Importer;
  let workDir: string;
  let library: string;
  let mediaDir: string;
  const write = (relative: string, data: Buffer | string) => {
    const file = path.join(library, relative);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, data);
    return file;
  };
  const count = async (table: 'tracks' | 'releases' | 'artists' | 'genres') =>
    Number(
      (
        await database.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  beforeAll(async () => {
    if (skip) return;
    database = await createTestDatabase(kind);
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-import-'));
    library = path.join(workDir, 'library');
    mediaDir = path.join(workDir, 'media');
    importer = createImporter({ db: database.db, media: createMediaFiles(createLocalStorage(mediaDir)) });
    const album = { albumArtist: 'The Beatlings', album: 'Rubber Soles', year: '2021', genre: 'Rock', withCover: true };
    write(
      'The Beatlings/Rubber Soles/01.mp3',
      makeMp3(40, { ...album, title: 'Drive My Kart', artist: 'The Beatlings', trackNumber: '1/3' }, 330),
    );
    write(
      'The Beatlings/Rubber Soles/02.mp3',
      makeMp3(6, { ...album, title: 'Norwegian Pine', artist: 'The Beatlings', trackNumber: '2/3' }, 392),
    );
    write('The Beatlings/Rubber Soles/03.mp3', makeMp3(5, { ...album, title: 'Guest Spot', artist: 'Yoko Oh', trackNumber: '3/3' }, 440));
    write('Solo/one.mp3', makeMp3(4, { title: 'Lonely Tune', artist: 'Solo Act', album: 'Lonely', year: '2024', genre: 'Folk' }, 523));
    write('Broken/not-really.mp3', 'this is a text file wearing an mp3 name\n'.repeat(50));
    write('Broken/garbage.mp3', Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 251)));
    write('Broken/no-artist.mp3', makeMp3(3, { title: 'Who Am I', album: 'Nobody' }));
    write('notes.txt', 'liner notes');
  });
  afterAll(async () => {
    await database?.drop();
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  it.skipIf(skip)('imports tags, groups by album artist + album, stores media and reports broken files without stopping', async () => {
    const summary = await importer.importFolder(library);
    expect(summary).toMatchObject({ added: 4, updated: 0, unchanged: 0 });
    expect(summary.skipped.map((s) => s.file).sort()).toEqual([
      'Broken/garbage.mp3',
      'Broken/no-artist.mp3',
      'Broken/not-really.mp3',
      'notes.txt',
    ]);
    expect(summary.skipped.find((s) => s.file === 'notes.txt')!.reason).toBe('not an MP3, FLAC or WAV file');
    expect(summary.skipped.find((s) => s.file === 'Broken/no-artist.mp3')!.reason).toMatch(/no artist/);
    expect(summary.skipped.find((s) => s.file === 'Broken/not-really.mp3')!.reason).toMatch(/not a readable MP3/);

    const release = await database.db
      .selectFrom('releases')
      .innerJoin('artists', 'artists.id', 'releases.artist_id')
      .innerJoin('genres', 'genres.id', 'releases.genre_id')
      .selectAll('releases')
      .select(['artists.name as artist', 'genres.name as genre'])
      .where('releases.title', '=', 'Rubber Soles')
      .executeTakeFirstOrThrow();
    // The tags give only the year: the date sorts as 1 January, and is recorded as a year alone.
    expect(release).toMatchObject({
      artist: 'The Beatlings',
      genre: 'Rock',
      release_date: '2021-01-01',
      release_date_precision: 'year',
      kind: 'single',
      slug: 'the-beatlings-rubber-soles',
    });
    expect(release.cover_file).toMatch(/^covers\/..\/[0-9a-f]{64}\.png$/);
    expect(fs.existsSync(path.join(mediaDir, release.cover_file!))).toBe(true);

    const tracks = await database.db
      .selectFrom('tracks')
      .innerJoin('artists', 'artists.id', 'tracks.artist_id')
      .select([
        'tracks.title',
        'tracks.track_number',
        'tracks.duration_ms',
        'tracks.bitrate_kbps',
        'tracks.media_file',
        'tracks.preview_file',
        'artists.name as artist',
      ])
      .where('release_id', '=', release.id)
      .orderBy('track_number')
      .execute();
    expect(tracks.map((t) => [t.track_number, t.title, t.artist])).toEqual([
      [1, 'Drive My Kart', 'The Beatlings'],
      [2, 'Norwegian Pine', 'The Beatlings'],
      [3, 'Guest Spot', 'Yoko Oh'],
    ]);
    expect(tracks[0]!.duration_ms).toBeGreaterThan(39_800);
    expect(tracks[0]!.duration_ms).toBeLessThan(40_300);
    expect(tracks[0]!.bitrate_kbps).toBe(48);
    // The preview is 30 seconds of whole frames cut from the full file.
    const preview = scanMp3(fs.readFileSync(path.join(mediaDir, tracks[0]!.preview_file)));
    expect(preview.durationSeconds).toBeGreaterThan(29.5);
    expect(preview.durationSeconds).toBeLessThan(30.5);
    const short = scanMp3(fs.readFileSync(path.join(mediaDir, tracks[1]!.preview_file)));
    expect(short.durationSeconds).toBeCloseTo(tracks[1]!.duration_ms / 1000, 0);
    // The full file is stored outside public/, byte for byte.
    expect(fs.readFileSync(path.join(mediaDir, tracks[0]!.media_file))).toEqual(
      fs.readFileSync(path.join(library, 'The Beatlings/Rubber Soles/01.mp3')),
    );
  });

  it.skipIf(skip)('changes nothing when the same folder is imported again', async () => {
    const before = await database.db.selectFrom('tracks').selectAll().orderBy('id').execute();
    const summary = await importer.importFolder(library);
    expect(summary).toMatchObject({ added: 0, updated: 0, unchanged: 4 });
    expect(await database.db.selectFrom('tracks').selectAll().orderBy('id').execute()).toEqual(before);
    expect(await count('releases')).toBe(2);
    expect(await count('artists')).toBe(3);
  });

  it.skipIf(skip)('updates a retagged file in place, and moves it when its album changes', async () => {
    const file = path.join(library, 'The Beatlings/Rubber Soles/02.mp3');
    const original = await database.db
      .selectFrom('tracks')
      .select(['id', 'release_id'])
      .where('title', '=', 'Norwegian Pine')
      .executeTakeFirstOrThrow();
    const album = { albumArtist: 'The Beatlings', album: 'Rubber Soles', year: '2021', genre: 'Rock', withCover: true };
    fs.writeFileSync(
      file,
      tag(fs.readFileSync(file), { ...album, title: 'Norwegian Wood Pine', artist: 'The Beatlings', trackNumber: '2/3' }),
    );
    expect(await importer.importFolder(library)).toMatchObject({ added: 0, updated: 1, unchanged: 3 });
    const retitled = await database.db
      .selectFrom('tracks')
      .select(['id', 'title', 'release_id'])
      .where('id', '=', original.id)
      .executeTakeFirstOrThrow();
    expect(retitled).toEqual({ id: original.id, title: 'Norwegian Wood Pine', release_id: original.release_id });
    const terms = await database.db
      .selectFrom('search_terms')
      .select('term')
      .where('kind', '=', 'track')
      .where('entity_id', '=', original.id)
      .execute();
    expect(terms.map((t) => t.term).sort()).toEqual(['beatlings', 'norwegian', 'pine', 'the', 'wood']);

    // The lone track's album changes: it moves to a new release and the empty one goes.
    const lone = path.join(library, 'Solo/one.mp3');
    fs.writeFileSync(
      lone,
      tag(fs.readFileSync(lone), { title: 'Lonely Tune', artist: 'Solo Act', album: 'Together', year: '2025', genre: 'Folk' }),
    );
    expect(await importer.importFolder(library)).toMatchObject({ added: 0, updated: 1 });
    const titles = (await database.db.selectFrom('releases').select('title').execute()).map((r) => r.title).sort();
    expect(titles).toEqual(['Rubber Soles', 'Together']);
  });
});

/**
 * Files are written in batches, one transaction each: a file the database refuses halfway (here a
 * trigger refuses its track row, after its new artist, release and label are written) must roll
 * back alone, with its own report line, while the files around it in the same batch commit.
 */
describe.each(databaseKinds())('a bad file inside a batch on $kind', ({ kind, skip }) => {
  let database: TestDatabase;
  let workDir: string;

  beforeAll(async () => {
    if (skip) return;
    database = await createTestDatabase(kind);
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-import-batch-'));
    const write = (relative: string, data: Buffer) => {
      fs.mkdirSync(path.dirname(path.join(workDir, 'library', relative)), { recursive: true });
      fs.writeFileSync(path.join(workDir, 'library', relative), data);
    };
    const good = { albumArtist: 'Good Band', album: 'Good Album', artist: 'Good Band', year: '2024' };
    write('a/01.mp3', makeMp3(3, { ...good, title: 'First Good', trackNumber: '1' }, 330));
    write('a/02.mp3', makeMp3(3, { ...good, title: 'Second Good', trackNumber: '2' }, 392));
    write('b/poison.mp3', makeMp3(3, { artist: 'Poison Artist', album: 'Poison Album', title: 'Poison Pill', label: 'Poison Label' }, 440));
    // The same artist again, after the refusal in the same batch: what the batch remembers of the
    // refused file (its artist's row) must have gone with it.
    write('b/remedy.mp3', makeMp3(3, { artist: 'Poison Artist', album: 'Antidote', title: 'Remedy' }, 494));
    write('c/03.mp3', makeMp3(3, { ...good, title: 'Third Good', trackNumber: '3' }, 523));
    write('c/lone.mp3', makeMp3(3, { artist: 'Lone Artist', album: 'Lone Album', title: 'Lone Song' }, 587));
    await sql
      .raw(
        kind === 'sqlite'
          ? `CREATE TRIGGER refuse_poison BEFORE INSERT ON tracks WHEN NEW.title = 'Poison Pill'
             BEGIN SELECT RAISE(ABORT, 'poisoned track refused'); END`
          : `CREATE TRIGGER refuse_poison BEFORE INSERT ON tracks FOR EACH ROW
             BEGIN IF NEW.title = 'Poison Pill' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'poisoned track refused'; END IF; END`,
      )
      .execute(database.db);
  });
  afterAll(async () => {
    await database?.drop();
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  it.skipIf(skip)('rolls back only that file, reports why, and commits the rest of the batch', async () => {
    const importer = createImporter({ db: database.db, media: createMediaFiles(createLocalStorage(path.join(workDir, 'media'))) });
    const summary = await importer.importFolder(path.join(workDir, 'library'));
    expect(summary).toMatchObject({ added: 5, updated: 0, unchanged: 0 });
    expect(summary.skipped).toHaveLength(1);
    expect(summary.skipped[0]!.file).toBe(path.join('b', 'poison.mp3'));
    expect(summary.skipped[0]!.reason).toMatch(/^could not be imported \(.*poisoned track refused/);

    const names = async (table: 'artists' | 'releases' | 'labels', column: 'name' | 'title') =>
      (
        await database.db
          .selectFrom(table)
          .select(sql<string>`${sql.ref(column)}`.as('n'))
          .execute()
      )
        .map((r) => r.n)
        .sort();
    // Nothing of the refused file: not its release, its label or their search terms (its artist
    // is there once, made again by the next file).
    expect(await names('artists', 'name')).toEqual(['Good Band', 'Lone Artist', 'Poison Artist']);
    expect(await names('releases', 'title')).toEqual(['Antidote', 'Good Album', 'Lone Album']);
    expect(await names('labels', 'name')).not.toContain('Poison Label');
    const withTerm = async (term: string) =>
      (await database.db.selectFrom('search_terms').select('kind').where('term', '=', term).execute()).map((r) => r.kind);
    expect(await withTerm('pill')).toEqual([]);
    expect(await withTerm('album')).toEqual(['release', 'release']); // Good Album, Lone Album
    // The others are whole: three tracks on the good album, its kind settled by their count, search terms for each.
    const tracks = await database.db
      .selectFrom('tracks')
      .innerJoin('releases', 'releases.id', 'tracks.release_id')
      .select(['tracks.id', 'tracks.title', 'releases.title as release', 'releases.kind'])
      .orderBy('tracks.title')
      .execute();
    expect(tracks.map((t) => [t.title, t.release, t.kind])).toEqual([
      ['First Good', 'Good Album', 'single'],
      ['Lone Song', 'Lone Album', 'single'],
      ['Remedy', 'Antidote', 'single'],
      ['Second Good', 'Good Album', 'single'],
      ['Third Good', 'Good Album', 'single'],
    ]);
    for (const track of tracks) {
      const terms = await database.db
        .selectFrom('search_terms')
        .select('term')
        .where('kind', '=', 'track')
        .where('entity_id', '=', track.id)
        .execute();
      expect(terms.length).toBeGreaterThan(1);
    }

    // Once the database takes it, the same file imports on the next run and the rest is unchanged.
    await sql.raw('DROP TRIGGER refuse_poison').execute(database.db);
    expect(await importer.importFolder(path.join(workDir, 'library'))).toMatchObject({ added: 1, unchanged: 5, skipped: [] });
    expect(await names('releases', 'title')).toEqual(['Antidote', 'Good Album', 'Lone Album', 'Poison Album']);
  });
});
