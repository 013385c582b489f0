import { sql, type Kysely } from 'kysely';
import { dialectOf, longTextType, toDbTime } from '../src/db/dialect.js';

/**
 * Labels and the identifiers of what they deliver (src/labels/): every release belongs to a label,
 * may carry a UPC/EAN (ICPN), catalogue number, P-line and C-line, and a sale window set by its
 * deal; every track may carry an ISRC. Orders keep the VAT rate they were sold at and the country
 * of sale (a two-letter code, nothing more). DDEX ingestions are logged one row per message.
 * Existing releases are backfilled to the store's own label (renamed from config on first use).
 */
export async function up(db: Kysely<any>): Promise<void> {
  const dialect = dialectOf(db);
  await db.schema
    .createTable('labels')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('contact_email', 'varchar(254)')
    .addColumn('ddex_party_id', 'varchar(40)', (c) => c.unique())
    // Share of net receipts (after VAT) owed to the label, in basis points: 7000 = 70%.
    .addColumn('royalty_basis_points', 'integer', (c) => c.notNull().defaultTo(7000))
    // 1 on exactly one row: the store's own label, for releases that name none.
    .addColumn('own_label', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'datetime', (c) => c.notNull())
    .addColumn('updated_at', 'datetime', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('labels_by_name').on('labels').column('name').execute();

  await db.schema
    .alterTable('releases')
    .addColumn('label_id', 'integer', (c) => c.references('labels.id'))
    .execute();
  for (const [column, type] of [
    ['icpn', 'varchar(14)'],
    ['catalogue_number', 'varchar(50)'],
    ['p_line', 'varchar(255)'],
    ['c_line', 'varchar(255)'],
    ['parental_warning', 'varchar(30)'],
    // The deal's sale window (UTC dates): before on_sale_from "Available from", from on_sale_until "no longer on sale".
    ['on_sale_from', 'date'],
    ['on_sale_until', 'date'],
  ] as const) {
    await db.schema.alterTable('releases').addColumn(column, type).execute();
  }
  await db.schema.createIndex('releases_by_label').on('releases').column('label_id').execute();
  await db.schema.createIndex('releases_by_icpn').on('releases').column('icpn').execute();
  await db.schema.alterTable('tracks').addColumn('isrc', 'varchar(12)').execute();

  await db.schema.alterTable('orders').addColumn('country_code', 'char(2)').execute();
  await db.schema
    .alterTable('orders')
    .addColumn('vat_basis_points', 'integer', (c) => c.notNull().defaultTo(2000))
    .execute();

  await db.schema
    .createTable('ddex_ingestions')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('batch', 'varchar(255)', (c) => c.notNull())
    .addColumn('message_file', 'varchar(255)', (c) => c.notNull())
    .addColumn('message_id', 'varchar(100)')
    .addColumn('message_sha256', 'char(64)', (c) => c.notNull())
    .addColumn('kind', 'varchar(40)')
    .addColumn('status', 'varchar(12)', (c) => c.notNull())
    .addColumn('summary', sql`${longTextType(dialect)}`)
    .addColumn('created_at', 'datetime', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('ddex_ingestions_by_sha').on('ddex_ingestions').columns(['message_sha256', 'status']).execute();

  const now = toDbTime(new Date());
  const hasReleases = await db.selectFrom('releases').select('id').limit(1).executeTakeFirst();
  if (hasReleases) {
    await db
      .insertInto('labels')
      .values({ name: 'Own label', own_label: 1, royalty_basis_points: 7000, created_at: now, updated_at: now })
      .execute();
    const own = await db.selectFrom('labels').select('id').where('own_label', '=', 1).executeTakeFirstOrThrow();
    await db
      .updateTable('releases')
      .set({ label_id: Number(own.id) })
      .where('label_id', 'is', null)
      .execute();
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('ddex_ingestions').execute();
  await db.schema.alterTable('orders').dropColumn('vat_basis_points').execute();
  await db.schema.alterTable('orders').dropColumn('country_code').execute();
  await db.schema.alterTable('tracks').dropColumn('isrc').execute();
  if (dialectOf(db) === 'mysql') {
    // MySQL named the foreign key itself; it needs its index, so it goes first.
    const fk = await sql<{
      name: string;
    }>`select constraint_name as name from information_schema.key_column_usage where table_schema = database() and table_name = 'releases' and column_name = 'label_id' and referenced_table_name = 'labels'`.execute(
      db,
    );
    for (const { name } of fk.rows) await sql`alter table releases drop foreign key ${sql.id(name)}`.execute(db);
  }
  for (const index of ['releases_by_icpn', 'releases_by_label']) {
    const drop = db.schema.dropIndex(index);
    await (dialectOf(db) === 'mysql' ? drop.on('releases') : drop).execute();
  }
  for (const column of ['on_sale_until', 'on_sale_from', 'parental_warning', 'c_line', 'p_line', 'catalogue_number', 'icpn']) {
    await db.schema.alterTable('releases').dropColumn(column).execute();
  }
  await db.schema.alterTable('releases').dropColumn('label_id').execute();
  await db.schema.dropTable('labels').execute();
}
