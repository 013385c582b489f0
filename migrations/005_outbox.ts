import { sql, type Kysely } from 'kysely';
import { dialectOf, longTextType } from '../src/db/dialect.js';

/**
 * The outbox: every email and SMS the store sends, written in the same transaction as the event
 * that causes it (an order paid, a sign-in code asked for) and sent afterwards by a worker
 * (src/notifications/worker.ts). A row is `pending` until a worker claims it (`sending`, with a
 * lease in claimed_by/claimed_until), then `sent` (claimed_by then names the process that sent
 * it), or back to `pending` with a later next_attempt_at, or `failed` once it is out of attempts
 * or refused for good (an operator can set it pending again).
 *
 * The recipient is the customer's one contact detail; bodies may hold sign-in codes, so this table
 * is customer data like `customers` (export and erasure include it).
 */
export async function up(db: Kysely<any>): Promise<void> {
  const dialect = dialectOf(db);
  await db.schema
    .createTable('outbox')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('channel', 'varchar(8)', (c) => c.notNull())
    .addColumn('recipient', 'varchar(254)', (c) => c.notNull())
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('subject', 'varchar(255)')
    .addColumn('body_text', longTextType(dialect), (c) => c.notNull())
    .addColumn('body_html', longTextType(dialect))
    .addColumn('status', 'varchar(10)', (c) => c.notNull().defaultTo('pending'))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'datetime', (c) => c.notNull())
    .addColumn('claimed_by', 'varchar(64)')
    .addColumn('claimed_until', 'datetime')
    .addColumn('last_error', 'varchar(255)')
    .addColumn('customer_id', 'integer', (c) => c.references('customers.id'))
    .addColumn('order_id', 'integer', (c) => c.references('orders.id'))
    .addColumn('created_at', 'datetime', (c) => c.notNull())
    .addColumn('sent_at', 'datetime')
    .addColumn('updated_at', 'datetime', (c) => c.notNull())
    .addCheckConstraint('outbox_channel', sql`channel in ('email', 'sms')`)
    .addCheckConstraint('outbox_kind', sql`kind in ('transactional', 'service', 'marketing')`)
    .addCheckConstraint('outbox_status', sql`status in ('pending', 'sending', 'sent', 'failed')`)
    .execute();
  // The worker's one question: what is due? (status, next_attempt_at) answers it from the index.
  await db.schema.createIndex('outbox_due').on('outbox').columns(['status', 'next_attempt_at']).execute();
  await db.schema.createIndex('outbox_by_customer').on('outbox').column('customer_id').execute();
  await db.schema.createIndex('outbox_by_order').on('outbox').column('order_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('outbox').execute();
}
