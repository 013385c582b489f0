import type { Kysely } from 'kysely';

/**
 * First-party usage statistics (src/analytics/): counts only. Nothing here is about one visitor:
 * no IP address, no user agent, no cookie id, no hash of any of them. Days are 'YYYY-MM-DD' (UTC).
 * Several processes add to the same rows (upsert-increment), so each key is unique.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('page_views')
    .addColumn('day', 'char(10)', (c) => c.notNull())
    .addColumn('path', 'varchar(190)', (c) => c.notNull())
    .addColumn('views', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('page_views_key', ['day', 'path'])
    .execute();

  await db.schema
    .createTable('page_referrers')
    .addColumn('day', 'char(10)', (c) => c.notNull())
    .addColumn('domain', 'varchar(190)', (c) => c.notNull())
    .addColumn('views', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('page_referrers_key', ['day', 'domain'])
    .execute();

  await db.schema
    .createTable('daily_visitors')
    .addColumn('day', 'char(10)', (c) => c.notNull().primaryKey())
    .addColumn('visitors', 'integer', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['daily_visitors', 'page_referrers', 'page_views']) await db.schema.dropTable(table).execute();
}
