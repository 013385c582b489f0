import type { Kysely } from 'kysely';
import { binaryCollation, dialectOf } from '../src/db/dialect.js';

export async function up(db: Kysely<any>): Promise<void> {
  const collateBinary = binaryCollation(dialectOf(db));

  await db.schema
    .createTable('genres')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('slug', 'varchar(120)', (c) => c.notNull().unique())
    .execute();

  await db.schema
    .createTable('artists')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('slug', 'varchar(220)', (c) => c.notNull().unique())
    .addColumn('created_at', 'datetime', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('releases')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('artist_id', 'integer', (c) => c.notNull().references('artists.id'))
    .addColumn('genre_id', 'integer', (c) => c.references('genres.id'))
    .addColumn('import_key', 'varchar(255)', (c) => c.notNull().unique())
    .addColumn('title', 'varchar(200)', (c) => c.notNull())
    .addColumn('slug', 'varchar(220)', (c) => c.notNull().unique())
    .addColumn('kind', 'varchar(10)', (c) => c.notNull())
    .addColumn('release_date', 'date')
    .addColumn('price_pence', 'integer')
    .addColumn('cover_file', 'varchar(255)')
    .addColumn('hidden', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'datetime', (c) => c.notNull())
    .addColumn('updated_at', 'datetime', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('releases_by_artist').on('releases').columns(['artist_id', 'release_date']).execute();
  await db.schema.createIndex('releases_by_genre').on('releases').columns(['genre_id', 'release_date']).execute();
  await db.schema.createIndex('releases_by_date').on('releases').columns(['release_date', 'id']).execute();

  await db.schema
    .createTable('tracks')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('release_id', 'integer', (c) => c.notNull().references('releases.id'))
    .addColumn('artist_id', 'integer', (c) => c.notNull().references('artists.id'))
    .addColumn('disc_number', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('track_number', 'integer', (c) => c.notNull())
    .addColumn('title', 'varchar(200)', (c) => c.notNull())
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .addColumn('bitrate_kbps', 'integer', (c) => c.notNull())
    .addColumn('price_pence', 'integer')
    .addColumn('media_file', 'varchar(255)', (c) => c.notNull())
    .addColumn('preview_file', 'varchar(255)', (c) => c.notNull())
    .addColumn('file_bytes', 'integer', (c) => c.notNull())
    .addColumn('audio_sha256', 'char(64)', (c) => c.notNull().unique())
    .addColumn('tags_sha256', 'char(64)', (c) => c.notNull())
    .addColumn('created_at', 'datetime', (c) => c.notNull())
    .addColumn('updated_at', 'datetime', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('tracks_by_release').on('tracks').columns(['release_id', 'disc_number', 'track_number']).execute();
  await db.schema.createIndex('tracks_by_artist').on('tracks').column('artist_id').execute();

  // Word-prefix search: one row per normalised word of an artist name, release or track title.
  await db.schema
    .createTable('search_terms')
    .addColumn('term', 'varchar(64)', (c) => (collateBinary ? c.notNull().modifyEnd(collateBinary) : c.notNull()))
    .addColumn('kind', 'varchar(10)', (c) => c.notNull())
    .addColumn('entity_id', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('search_terms_pk', ['kind', 'term', 'entity_id'])
    .execute();
  await db.schema.createIndex('search_terms_by_entity').on('search_terms').columns(['kind', 'entity_id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['search_terms', 'tracks', 'releases', 'artists', 'genres']) {
    await db.schema.dropTable(table).execute();
  }
}
