import { sql, type Kysely } from 'kysely';

/**
 * The admin area: operators (separate from customers), the audit log of every change an operator
 * makes, and the `daily_sales` view for a SQL client.
 * `order_overview` (migrations/003_orders.ts) already has one row per order with every column the
 * operator needs (reference, status, times, total, method, contact, affiliate number, item count
 * and titles), so it is left as it is.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('operators')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('email', 'varchar(254)', (c) => c.notNull().unique())
    // scrypt$N$r$p$salt$hash (src/admin/access/passwords.ts)
    .addColumn('password_hash', 'varchar(255)', (c) => c.notNull())
    .addColumn('failed_attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('locked_until', 'datetime')
    .addColumn('active', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('last_sign_in_at', 'datetime')
    .addColumn('created_at', 'datetime', (c) => c.notNull())
    .addColumn('updated_at', 'datetime', (c) => c.notNull())
    .execute();

  // Who changed what, when. operator_id is null only for changes made outside a session (none yet).
  await db.schema
    .createTable('admin_audit')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('operator_id', 'integer', (c) => c.references('operators.id'))
    .addColumn('action', 'varchar(60)', (c) => c.notNull())
    .addColumn('target', 'varchar(190)')
    .addColumn('detail', 'text')
    .addColumn('created_at', 'datetime', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('admin_audit_by_time').on('admin_audit').columns(['created_at', 'id']).execute();
  await db.schema.createIndex('admin_audit_by_operator').on('admin_audit').columns(['operator_id', 'id']).execute();

  await createDailySales(db);
}

/**
 * One row per UTC day and payment method on which orders were paid: how many, their value, their
 * items, how many of them were later refunded (and for how much), and how many came through an
 * affiliate. `date()` gives 'YYYY-MM-DD' in both dialects (times are stored as UTC).
 */
async function createDailySales(db: Kysely<any>): Promise<void> {
  await sql`
    create view daily_sales as
    select date(o.paid_at) as day, o.payment_method,
           count(*) as orders_paid,
           sum(o.total_pence) as revenue_pence,
           sum(coalesce(i.n, 0)) as items,
           sum(case when o.status = 'refunded' then 1 else 0 end) as orders_refunded,
           sum(case when o.status = 'refunded' then o.total_pence else 0 end) as refunded_pence,
           count(o.affiliate_id) as referred_orders
    from orders o
    left join (select order_id, count(*) as n from order_items group by order_id) i on i.order_id = o.id
    where o.paid_at is not null
    group by date(o.paid_at), o.payment_method
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop view daily_sales`.execute(db);
  for (const table of ['admin_audit', 'operators']) await db.schema.dropTable(table).execute();
}
