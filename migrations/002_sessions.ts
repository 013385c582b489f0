import type { Kysely } from 'kysely';
import { dialectOf, longTextType } from '../src/db/dialect.js';

/** Sessions live in the database so that any app process can serve any request. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('sessions')
    .addColumn('sid', 'varchar(128)', (c) => c.primaryKey())
    .addColumn('expires_at', 'datetime', (c) => c.notNull())
    .addColumn('data', longTextType(dialectOf(db)), (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sessions_by_expiry').on('sessions').column('expires_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('sessions').execute();
}
