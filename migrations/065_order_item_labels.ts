import { sql, type Kysely } from 'kysely';
import { dialectOf } from '../src/db/dialect.js';

/**
 * order_items.label_id: the label a line was sold for, written when its order is paid (src/orders/).
 * A release can move to another label later (a DDEX update naming another label, an operator's
 * edit); statements follow each sale, and its refund, to the label it had when it was paid.
 * Lines already paid (or refunded) are backfilled from their release's label now, the best that
 * is known of the past; lines of unpaid orders stay empty until they are paid.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('order_items')
    .addColumn('label_id', 'integer', (c) => c.references('labels.id'))
    .execute();
  await db
    .updateTable('order_items')
    .set({ label_id: sql`(select releases.label_id from releases where releases.id = order_items.release_id)` })
    .where('order_id', 'in', db.selectFrom('orders').select('id').where('status', 'in', ['paid', 'refunded']))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  if (dialectOf(db) === 'mysql') {
    // MySQL named the foreign key itself (as in 040's down); it goes before its column.
    const fk = await sql<{
      name: string;
    }>`select constraint_name as name from information_schema.key_column_usage where table_schema = database() and table_name = 'order_items' and column_name = 'label_id' and referenced_table_name = 'labels'`.execute(
      db,
    );
    for (const { name } of fk.rows) await sql`alter table order_items drop foreign key ${sql.id(name)}`.execute(db);
  }
  await db.schema.alterTable('order_items').dropColumn('label_id').execute();
}
