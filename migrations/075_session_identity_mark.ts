import { sql, type Kysely } from 'kysely';
import { dialectOf } from '../src/db/dialect.js';

/**
 * A session that holds someone's identity now says so with one mark, `"identity":true`, set where
 * every sign-in regenerates its session (src/web/security.ts, markIdentity), instead of the CSRF
 * check looking for a list of keys. Sessions signed in (or signing in) before this release get the
 * mark here, so that none of them starts taking a visitor's token: the list below is the one the
 * check used until now. The session data is JSON text written by JSON.stringify (no spaces), and a
 * row that names one of these keys holds at least one key, so the mark goes in front of the rest.
 * A value that merely contains such a name gets the mark too, which only makes that session stricter.
 */
const IDENTITY_KEYS = ['customerId', 'affiliateId', 'operatorId', 'operatorPendingId', 'signInContact', 'affiliateSignInEmail'];

export async function up(db: Kysely<any>): Promise<void> {
  const data = sql.ref('data');
  const marked =
    dialectOf(db) === 'mysql' ? sql`concat('{"identity":true,', substr(${data}, 2))` : sql`'{"identity":true,' || substr(${data}, 2)`;
  await db
    .updateTable('sessions')
    .set({ data: marked })
    .where((eb) => eb.or(IDENTITY_KEYS.map((key) => eb('data', 'like', `%"${key}":%`))))
    .where('data', 'like', '{%')
    .where('data', 'not like', '{"identity":true,%')
    .execute();
}

/** The mark is harmless to a store that no longer reads it. */
export async function down(): Promise<void> {}
