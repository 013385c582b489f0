import type { CreateTableBuilder, Kysely } from 'kysely';

/**
 * One table of one-time sign-in codes for every kind of person (src/sign-in-codes/), instead of
 * the two of one shape released in migrations 006 and 007: `sign_in_codes` (customers) and
 * `affiliate_sign_in_codes`. Operators (new in migration 010) start with this table. A code is
 * owned by (owner_kind, owner_id), owner_kind being 'customer', 'affiliate' or 'operator'; a column
 * that points at one of three tables cannot carry a foreign key, so erasing a customer deletes their
 * codes itself (src/privacy/data-rights.ts).
 *
 * Codes live ten minutes, so the old rows are dropped, not copied: a code asked for in the minute
 * of the deploy does not work and must be asked for again.
 */
export async function up(db: Kysely<any>): Promise<void> {
  for (const { table } of OLD_TABLES) await db.schema.dropTable(table).execute();
  await db.schema
    .createTable('sign_in_codes')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('owner_kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('owner_id', 'integer', (c) => c.notNull())
    .$call(codeColumns)
    .execute();
  // Every question asked of the table is "this owner's codes, newest first".
  await db.schema.createIndex('sign_in_codes_by_owner').on('sign_in_codes').columns(['owner_kind', 'owner_id', 'id']).execute();
}

/** The two tables as migrations 006 and 007 left them (empty: codes are not copied back either). */
const OLD_TABLES = [
  { table: 'sign_in_codes', owner: 'customer_id', references: 'customers.id' },
  { table: 'affiliate_sign_in_codes', owner: 'affiliate_id', references: 'affiliates.id' },
] as const;

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('sign_in_codes').execute();
  for (const { table, owner, references } of OLD_TABLES) {
    await db.schema
      .createTable(table)
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn(owner, 'integer', (c) => c.notNull().references(references))
      .$call(codeColumns)
      .execute();
    await db.schema
      .createIndex(`${table}_by_${owner.replace(/_id$/, '')}`)
      .on(table)
      .columns([owner, 'id'])
      .execute();
  }
}

/** What every code row holds besides its owner: the same before and after this migration. */
function codeColumns<T extends string>(table: CreateTableBuilder<T, never>): CreateTableBuilder<T, never> {
  return table
    .addColumn('code_hash', 'char(64)', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('expires_at', 'datetime', (c) => c.notNull())
    .addColumn('used_at', 'datetime')
    .addColumn('created_at', 'datetime', (c) => c.notNull());
}
