import type { Kysely } from 'kysely';

/**
 * Rate-limit counters shared by every app process (src/web/rate-limit-store.ts): one row per
 * limiter and client, keyed by a keyed hash (HMAC with the session secret), so no address or
 * contact detail is ever stored. A row whose window has ended counts again from one; the store
 * deletes such rows now and then.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('rate_limits')
    .addColumn('key_hash', 'char(64)', (c) => c.primaryKey())
    .addColumn('hits', 'integer', (c) => c.notNull())
    .addColumn('reset_at', 'datetime', (c) => c.notNull())
    .execute();
  // The sweep's one question: which windows have ended?
  await db.schema.createIndex('rate_limits_by_reset').on('rate_limits').column('reset_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('rate_limits').execute();
}
