import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { dialectOf } from '../db/dialect.js';

export interface RateLimitCount {
  hits: number;
  /** 'YYYY-MM-DD HH:MM:SS' UTC: when the window ends. */
  resetAt: string;
}

/**
 * Counts one more hit for a key, atomically on both dialects: a new key starts at 1, a key whose
 * window has ended starts again at 1 with a new end, any other key adds 1. Returns the count as
 * this hit left it: the upsert and the read share a transaction, and on MySQL the upsert holds the
 * row's lock until the read, so a concurrent hit in another process cannot slip in between.
 */
export async function incrementHits(db: Db, keyHash: string, now: string, newResetAt: string): Promise<RateLimitCount> {
  return db.transaction().execute(async (tx) => {
    const insert = tx.insertInto('rate_limits').values({ key_hash: keyHash, hits: 1, reset_at: newResetAt });
    if (dialectOf(tx) === 'mysql') {
      // MySQL evaluates these assignments left to right, each seeing the ones before it: hits must
      // come first, while reset_at still holds the stored (old) end of the window.
      await insert
        .onDuplicateKeyUpdate({
          hits: sql`if(reset_at <= ${now}, 1, hits + 1)`,
          reset_at: sql`if(reset_at <= ${now}, ${newResetAt}, reset_at)`,
        })
        .execute();
    } else {
      // SQLite evaluates every assignment against the stored row.
      await insert
        .onConflict((oc) =>
          oc.column('key_hash').doUpdateSet({
            hits: sql`case when rate_limits.reset_at <= ${now} then 1 else rate_limits.hits + 1 end`,
            reset_at: sql`case when rate_limits.reset_at <= ${now} then excluded.reset_at else rate_limits.reset_at end`,
          }),
        )
        .execute();
    }
    const row = await tx.selectFrom('rate_limits').select(['hits', 'reset_at']).where('key_hash', '=', keyHash).executeTakeFirstOrThrow();
    return { hits: Number(row.hits), resetAt: row.reset_at };
  });
}

/** The current window's count, or undefined when there is none (never counted, or ended). */
export async function currentHits(db: Db, keyHash: string, now: string): Promise<RateLimitCount | undefined> {
  const row = await db
    .selectFrom('rate_limits')
    .select(['hits', 'reset_at'])
    .where('key_hash', '=', keyHash)
    .where('reset_at', '>', now)
    .executeTakeFirst();
  return row ? { hits: Number(row.hits), resetAt: row.reset_at } : undefined;
}

export async function decrementHits(db: Db, keyHash: string, now: string): Promise<void> {
  await db
    .updateTable('rate_limits')
    .set({ hits: sql`hits - 1` })
    .where('key_hash', '=', keyHash)
    .where('hits', '>', 0)
    .where('reset_at', '>', now)
    .execute();
}

export async function deleteKey(db: Db, keyHash: string): Promise<void> {
  await db.deleteFrom('rate_limits').where('key_hash', '=', keyHash).execute();
}

/** Deletes the rows of windows that have ended; returns how many. */
export async function deleteEnded(db: Db, now: string): Promise<number> {
  const result = await db.deleteFrom('rate_limits').where('reset_at', '<=', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}
