import { sql, type Kysely } from 'kysely';

/**
 * Release ZIPs made by the media queue when media is in object storage (src/media/zips.ts): one
 * row per ZIP, keyed by its content address (the keys and names of what is in it), so a change of
 * any track or the cover is a new row and a new object. `entries` is the list the worker packs.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('media_zips')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('output_key', 'varchar(255)', (c) => c.notNull().unique())
    .addColumn('release_id', 'integer', (c) => c.notNull().references('releases.id').onDelete('cascade'))
    .addColumn('format', 'varchar(16)', (c) => c.notNull())
    .addColumn('entries', 'text', (c) => c.notNull())
    .addColumn('status', 'varchar(10)', (c) => c.notNull().defaultTo('pending'))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('lease_until', 'datetime')
    .addColumn('claimed_by', 'varchar(64)')
    .addColumn('last_error', 'varchar(255)')
    .addColumn('output_bytes', 'bigint')
    .addColumn('created_at', 'datetime', (c) => c.notNull())
    .addColumn('updated_at', 'datetime', (c) => c.notNull())
    .addCheckConstraint('media_zips_status', sql`status in ('pending', 'working', 'ready', 'failed')`)
    .execute();
  await db.schema.createIndex('media_zips_due').on('media_zips').columns(['status', 'lease_until']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('media_zips').execute();
}
