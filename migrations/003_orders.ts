import { sql, type Kysely } from 'kysely';
import { dialectOf } from '../src/db/dialect.js';

/**
 * Customers, orders and payments. A customer row holds one contact detail (email or mobile
 * number) and the marketing choice: no name, no address, by design.
 * order_items.release_id is always set (for a track, its release) so sales roll up per release.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('customers')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('email', 'varchar(254)', (c) => c.unique())
    .addColumn('msisdn', 'varchar(20)', (c) => c.unique())
    .addColumn('marketing_opt_in', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('marketing_choice_at', 'datetime')
    .addColumn('created_at', 'datetime', (c) => c.notNull())
    .addColumn('updated_at', 'datetime', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('orders')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('reference', 'varchar(32)', (c) => c.notNull().unique())
    .addColumn('status', 'varchar(12)', (c) => c.notNull())
    .addColumn('total_pence', 'integer', (c) => c.notNull())
    .addColumn('currency', 'char(3)', (c) => c.notNull().defaultTo('GBP'))
    .addColumn('payment_method', 'varchar(20)', (c) => c.notNull())
    .addColumn('affiliate_id', 'integer')
    .addColumn('customer_id', 'integer', (c) => c.references('customers.id'))
    .addColumn('age_confirmed_at', 'datetime', (c) => c.notNull())
    .addColumn('marketing_opt_in', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'datetime', (c) => c.notNull())
    .addColumn('expires_at', 'datetime', (c) => c.notNull())
    .addColumn('paid_at', 'datetime')
    .addColumn('updated_at', 'datetime', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('orders_by_status_paid').on('orders').columns(['status', 'paid_at']).execute();
  await db.schema.createIndex('orders_by_status_expiry').on('orders').columns(['status', 'expires_at']).execute();
  await db.schema.createIndex('orders_by_customer').on('orders').column('customer_id').execute();

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

  // Every change of an order's status, and every payment fact worth keeping, in order.
  await db.schema
    .createTable('order_events')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('order_id', 'integer', (c) => c.notNull().references('orders.id'))
    .addColumn('from_status', 'varchar(12)')
    .addColumn('to_status', 'varchar(12)', (c) => c.notNull())
    .addColumn('event', 'varchar(40)', (c) => c.notNull())
    .addColumn('detail', 'varchar(255)')
    .addColumn('created_at', 'datetime', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('order_events_by_order').on('order_events').columns(['order_id', 'id']).execute();

  // One row per attempt at a provider (a PayPal order, a mobile-billing transaction).
  await db.schema
    .createTable('payments')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('order_id', 'integer', (c) => c.notNull().references('orders.id'))
    .addColumn('method', 'varchar(20)', (c) => c.notNull())
    .addColumn('provider_ref', 'varchar(64)', (c) => c.notNull())
    .addColumn('capture_ref', 'varchar(64)')
    .addColumn('status', 'varchar(20)', (c) => c.notNull())
    .addColumn('amount_pence', 'integer')
    .addColumn('currency', 'char(3)')
    .addColumn('created_at', 'datetime', (c) => c.notNull())
    .addColumn('updated_at', 'datetime', (c) => c.notNull())
    .addUniqueConstraint('payments_provider_ref', ['method', 'provider_ref'])
    .execute();
  await db.schema.createIndex('payments_by_order').on('payments').column('order_id').execute();

  // Provider notifications already applied: a repeat is acknowledged and ignored.
  await db.schema
    .createTable('provider_events')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('provider', 'varchar(20)', (c) => c.notNull())
    .addColumn('event_id', 'varchar(100)', (c) => c.notNull())
    .addColumn('event_type', 'varchar(60)', (c) => c.notNull())
    .addColumn('received_at', 'datetime', (c) => c.notNull())
    .addUniqueConstraint('provider_events_unique', ['provider', 'event_id'])
    .execute();

  await createOrderOverview(db);
}

/** One row per order for an operator in a SQL client; the only dialect difference is GROUP_CONCAT's separator. */
async function createOrderOverview(db: Kysely<any>): Promise<void> {
  const titles = dialectOf(db) === 'mysql' ? sql`group_concat(i.title order by i.id separator ' | ')` : sql`group_concat(i.title, ' | ')`;
  await sql`
    create view order_overview as
    select o.reference, o.status, o.created_at, o.paid_at, o.total_pence, o.currency, o.payment_method,
           coalesce(c.email, c.msisdn) as contact, o.affiliate_id,
           (select count(*) from order_items i where i.order_id = o.id) as item_count,
           (select ${titles} from order_items i where i.order_id = o.id) as item_titles
    from orders o left join customers c on c.id = o.customer_id
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop view order_overview`.execute(db);
  for (const table of ['provider_events', 'payments', 'order_events', 'order_items', 'orders', 'customers']) {
    await db.schema.dropTable(table).execute();
  }
}
