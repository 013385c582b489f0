import type { Kysely } from 'kysely';

/**
 * Two facts statements and DDEX updates need kept over time (src/labels/):
 * - label_royalty_rates: every royalty rate a label has had and from when, so a statement pays
 *   each sale at the rate in force when it was paid, not at today's. Every existing label gets
 *   its current rate from the beginning of time (the best that is known of its past).
 * - tracks.withdrawn_at: a track a later DDEX message no longer lists. It leaves the release's
 *   page, search and new sales; its buyers keep their entitlements and downloads.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('label_royalty_rates')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('label_id', 'integer', (c) => c.notNull().references('labels.id'))
    .addColumn('royalty_basis_points', 'integer', (c) => c.notNull())
    .addColumn('effective_from', 'datetime', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('label_royalty_rates_by_label').on('label_royalty_rates').columns(['label_id', 'effective_from']).execute();
  const labels = await db.selectFrom('labels').select(['id', 'royalty_basis_points']).execute();
  if (labels.length)
    await db
      .insertInto('label_royalty_rates')
      .values(
        labels.map((l: { id: number; royalty_basis_points: number }) => ({
          label_id: l.id,
          royalty_basis_points: l.royalty_basis_points,
          effective_from: '1970-01-01 00:00:00',
        })),
      )
      .execute();
  await db.schema.alterTable('tracks').addColumn('withdrawn_at', 'datetime').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tracks').dropColumn('withdrawn_at').execute();
  await db.schema.dropTable('label_royalty_rates').execute();
}
