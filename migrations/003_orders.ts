import type { Kysely } from 'kysely';

/**
 * The core of orders, enough for the best-seller chart; the checkout work extends it.
 * order_items.release_id is always set (for a track, its release) so sales roll up per release.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('orders')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('reference', 'varchar(32)', (c) => c.notNull().unique())
    .addColumn('status', 'varchar(12)', (c) => c.notNull())
    .addColumn('total_pence', 'integer', (c) => c.notNull())
    .addColumn('currency', 'char(3)', (c) => c.notNull().defaultTo('GBP'))
    .addColumn('payment_method', 'varchar(20)', (c) => c.notNull())
    .addColumn('affiliate_id', 'integer')
    .addColumn('created_at', 'datetime', (c) => c.notNull())
    .addColumn('paid_at', 'datetime')
    .addColumn('updated_at', 'datetime', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('orders_by_status_paid').on('orders').columns(['status', 'paid_at']).execute();

  await db.schema
    .createTable('order_items')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('order_id', 'integer', (c) => c.notNull().references('orders.id'))
    .addColumn('release_id', 'integer', (c) => c.notNull().references('releases.id'))
    .addColumn('track_id', 'integer', (c) => c.references('tracks.id'))
    .addColumn('title', 'varchar(400)', (c) => c.notNull())
    .addColumn('price_pence', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('order_items_by_order').on('order_items').column('order_id').execute();
  await db.schema.createIndex('order_items_by_release').on('order_items').column('release_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('order_items').execute();
  await db.schema.dropTable('orders').execute();
}
