import type { Kysely } from 'kysely';

/**
 * Affiliates, their landing counts, commissions and payouts, and their sign-in codes.
 * Visits are counts per affiliate per day per landing path: no IP, no cookie id, nothing per visitor.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('affiliates')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('name', 'varchar(120)', (c) => c.notNull())
    .addColumn('email', 'varchar(254)', (c) => c.notNull().unique())
    // Exactly one of the two: a percentage in basis points (2000 = 20%), or a flat amount per order.
    .addColumn('rate_basis_points', 'integer')
    .addColumn('flat_pence', 'integer')
    .addColumn('active', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'datetime', (c) => c.notNull())
    .addColumn('updated_at', 'datetime', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('affiliate_visits')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('affiliate_id', 'integer', (c) => c.notNull().references('affiliates.id'))
    .addColumn('day', 'char(10)', (c) => c.notNull())
    .addColumn('path', 'varchar(190)', (c) => c.notNull())
    .addColumn('visits', 'integer', (c) => c.notNull())
    .addUniqueConstraint('affiliate_visits_key', ['affiliate_id', 'day', 'path'])
    .execute();

  await db.schema
    .createTable('affiliate_payouts')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('affiliate_id', 'integer', (c) => c.notNull().references('affiliates.id'))
    .addColumn('amount_pence', 'integer', (c) => c.notNull())
    .addColumn('commission_count', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'datetime', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('affiliate_commissions')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('affiliate_id', 'integer', (c) => c.notNull().references('affiliates.id'))
    .addColumn('order_id', 'integer', (c) => c.notNull().unique().references('orders.id'))
    .addColumn('order_total_pence', 'integer', (c) => c.notNull())
    .addColumn('amount_pence', 'integer', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('reason', 'varchar(40)')
    .addColumn('payout_id', 'integer', (c) => c.references('affiliate_payouts.id'))
    .addColumn('created_at', 'datetime', (c) => c.notNull())
    .addColumn('approved_at', 'datetime')
    .addColumn('paid_at', 'datetime')
    .addColumn('rejected_at', 'datetime')
    .addColumn('updated_at', 'datetime', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('affiliate_commissions_by_status').on('affiliate_commissions').columns(['status', 'created_at']).execute();
  await db.schema
    .createIndex('affiliate_commissions_by_affiliate')
    .on('affiliate_commissions')
    .columns(['affiliate_id', 'created_at'])
    .execute();

  await db.schema
    .createTable('affiliate_sign_in_codes')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('affiliate_id', 'integer', (c) => c.notNull().references('affiliates.id'))
    .addColumn('code_hash', 'char(64)', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('expires_at', 'datetime', (c) => c.notNull())
    .addColumn('used_at', 'datetime')
    .addColumn('created_at', 'datetime', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('affiliate_sign_in_codes_by_affiliate')
    .on('affiliate_sign_in_codes')
    .columns(['affiliate_id', 'id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['affiliate_sign_in_codes', 'affiliate_commissions', 'affiliate_payouts', 'affiliate_visits', 'affiliates'])
    await db.schema.dropTable(table).execute();
}
