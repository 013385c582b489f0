import { sql, type Kysely } from 'kysely';

/**
 * Lossless masters and the shopper's choice of format (src/media/). A track records what its
 * master is (an MP3 sold as it is, or a FLAC/WAV master with its sample rate, bit depth and
 * channels); a customer row remembers the download format they chose; media_encodings is the
 * queue and the index of the files made from masters, worked under a lease like the outbox.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('tracks')
    .addColumn('master_format', 'varchar(8)', (c) => c.notNull().defaultTo('mp3'))
    .execute();
  await db.schema.alterTable('tracks').addColumn('sample_rate', 'integer').execute();
  await db.schema.alterTable('tracks').addColumn('bit_depth', 'integer').execute();
  await db.schema.alterTable('tracks').addColumn('channels', 'integer').execute();
  await db.schema.alterTable('customers').addColumn('download_format', 'varchar(16)').execute();
  await db.schema
    .createTable('media_encodings')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('track_id', 'integer', (c) => c.notNull().references('tracks.id').onDelete('cascade'))
    .addColumn('format', 'varchar(16)', (c) => c.notNull())
    .addColumn('output_key', 'varchar(255)', (c) => c.notNull())
    .addColumn('status', 'varchar(10)', (c) => c.notNull().defaultTo('pending'))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('lease_until', 'datetime')
    .addColumn('claimed_by', 'varchar(64)')
    .addColumn('last_error', 'varchar(255)')
    .addColumn('output_bytes', 'bigint')
    .addColumn('created_at', 'datetime', (c) => c.notNull())
    .addColumn('updated_at', 'datetime', (c) => c.notNull())
    .addUniqueConstraint('media_encodings_track_format', ['track_id', 'format'])
    .addCheckConstraint('media_encodings_status', sql`status in ('pending', 'working', 'ready', 'failed')`)
    .execute();
  // The workers' one question: what is waiting, or held past its lease?
  await db.schema.createIndex('media_encodings_due').on('media_encodings').columns(['status', 'lease_until']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('media_encodings').execute();
  for (const column of ['master_format', 'sample_rate', 'bit_depth', 'channels'])
    await db.schema.alterTable('tracks').dropColumn(column).execute();
  await db.schema.alterTable('customers').dropColumn('download_format').execute();
}
