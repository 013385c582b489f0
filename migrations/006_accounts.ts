import type { Kysely } from 'kysely';

/**
 * What customers own and how they sign in. Codes and link tokens are stored only as hashes; the
 * download log keeps who fetched which track when, nothing about the client.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('entitlements')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('customer_id', 'integer', (c) => c.notNull().references('customers.id'))
    .addColumn('order_id', 'integer', (c) => c.notNull().references('orders.id'))
    .addColumn('track_id', 'integer', (c) => c.notNull().references('tracks.id'))
    .addColumn('created_at', 'datetime', (c) => c.notNull())
    .addColumn('revoked_at', 'datetime')
    .addUniqueConstraint('entitlements_order_track', ['order_id', 'track_id'])
    .execute();
  await db.schema.createIndex('entitlements_by_customer').on('entitlements').columns(['customer_id', 'track_id']).execute();

  await db.schema
    .createTable('sign_in_codes')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('customer_id', 'integer', (c) => c.notNull().references('customers.id'))
    .addColumn('code_hash', 'char(64)', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('expires_at', 'datetime', (c) => c.notNull())
    .addColumn('used_at', 'datetime')
    .addColumn('created_at', 'datetime', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sign_in_codes_by_customer').on('sign_in_codes').columns(['customer_id', 'id']).execute();

  await db.schema
    .createTable('sign_in_links')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('customer_id', 'integer', (c) => c.notNull().references('customers.id'))
    .addColumn('token_hash', 'char(64)', (c) => c.notNull().unique())
    .addColumn('uses_left', 'integer', (c) => c.notNull())
    .addColumn('expires_at', 'datetime', (c) => c.notNull())
    .addColumn('created_at', 'datetime', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('downloads')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('customer_id', 'integer', (c) => c.notNull().references('customers.id'))
    .addColumn('track_id', 'integer', (c) => c.references('tracks.id'))
    .addColumn('release_id', 'integer', (c) => c.references('releases.id'))
    .addColumn('created_at', 'datetime', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('downloads_by_customer').on('downloads').columns(['customer_id', 'created_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['downloads', 'sign_in_links', 'sign_in_codes', 'entitlements']) await db.schema.dropTable(table).execute();
}
