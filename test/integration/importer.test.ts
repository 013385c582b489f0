import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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
