import { sql, type Kysely } from 'kysely';

/**
 * How much of a release's date is known: 'day', 'month' or 'year'. An ID3 tag often holds only
 * the year (TYER, or TDRC "2019"), which the importer stored as 1 January of that year; the pages
 * then said "1 January 2019". The date column stays a full date (it sorts and indexes as before);
 * this says how much of it to show.
 *
 * Rows already there: a 1 January date is taken to be a year only (what the importer wrote for
 * one; a release really dated 1 January shows its year alone until its files are imported again,
 * which records the precision read from the tags).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('releases')
    .addColumn('release_date_precision', 'varchar(5)', (c) => c.notNull().defaultTo('day'))
    .execute();
  await db
    .updateTable('releases')
    .set({ release_date_precision: 'year' })
    .where(sql`substr(${sql.ref('release_date')}, 6, 5)`, '=', '01-01')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('releases').dropColumn('release_date_precision').execute();
}
