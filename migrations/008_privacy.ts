import type { Kysely } from 'kysely';

/**
 * Privacy features: extra email headers on an outbox row (List-Unsubscribe on marketing, as JSON),
 * and the log of service notices (who sent one, why, to which orders' customers).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('outbox').addColumn('headers', 'text').execute();
  await db.schema
    .createTable('service_notices')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('sent_by', 'varchar(120)', (c) => c.notNull())
    .addColumn('reason', 'varchar(500)', (c) => c.notNull())
    .addColumn('orders_from', 'datetime', (c) => c.notNull())
    .addColumn('orders_to', 'datetime', (c) => c.notNull())
    .addColumn('subject', 'varchar(255)', (c) => c.notNull())
    .addColumn('body_text', 'text', (c) => c.notNull())
    .addColumn('recipients', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'datetime', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('service_notices').execute();
  await db.schema.alterTable('outbox').dropColumn('headers').execute();
}
