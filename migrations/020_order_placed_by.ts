import type { Kysely } from 'kysely';

/**
 * The customer who was signed in when an order was placed, if any. An order gets its customer
 * only on payment (from the contact the payment gives), so until then this is the one contact
 * detail the store has for it: a pending order that is cancelled is reported to this customer
 * (src/customers/order-messages.ts). No foreign key, like orders.customer_id's erasure: erasing a
 * customer clears it (src/privacy/data-rights.ts).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('orders').addColumn('placed_by_customer_id', 'integer').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('orders').dropColumn('placed_by_customer_id').execute();
}
