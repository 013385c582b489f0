import type { Kysely } from 'kysely';

/**
 * outbox.handed_at: when the worker holding the row handed it to the mail server or SMS gateway,
 * written (under the lease) just before the hand-off and cleared at each claim. A row whose lease
 * ran out with handed_at set may have been delivered, since the provider may have taken it before
 * the process died, so it is the one kind of row that can go out twice (docs/messages.md); a
 * row without it was never handed over and is simply sent.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('outbox').addColumn('handed_at', 'datetime').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('outbox').dropColumn('handed_at').execute();
}
