import type { Kysely, Transaction } from 'kysely';
import { insertedId, isDuplicateKeyError, lockingRead } from '../db/dialect.js';
import type { Database } from '../db/schema.js';

export type Contact = { email: string } | { msisdn: string };

/**
 * The customer for a contact detail, created on first payment. Two payments by a new customer
 * can race: the unique key decides, and the loser reads the winner's row.
 */
export async function findOrCreateCustomer(tx: Transaction<Database>, contact: Contact, now: string): Promise<number> {
  const byContact = 'email' in contact ? (['email', contact.email] as const) : (['msisdn', contact.msisdn] as const);
  const query = tx.selectFrom('customers').select('id').where(byContact[0], '=', byContact[1]);
  const find = () => lockingRead(tx, query).executeTakeFirst();
  // Lock only a row that is there: on MySQL a locking read of an absent email takes a gap lock, and
  // two new customers paying at once then deadlock on their inserts (seen in the purchase bench).
  const existing = (await query.executeTakeFirst()) && (await find());
  if (existing) return existing.id;
  try {
    const row = {
      email: 'email' in contact ? contact.email : null,
      msisdn: 'msisdn' in contact ? contact.msisdn : null,
      marketing_opt_in: 0,
      marketing_choice_at: null,
      created_at: now,
      updated_at: now,
    };
    return insertedId(await tx.insertInto('customers').values(row).executeTakeFirstOrThrow());
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
    return (await find())!.id;
  }
}

export async function recordMarketingChoice(tx: Transaction<Database>, customerId: number, optIn: boolean, now: string): Promise<void> {
  await tx
    .updateTable('customers')
    .set({ marketing_opt_in: optIn ? 1 : 0, marketing_choice_at: now, updated_at: now })
    .where('id', '=', customerId)
    .execute();
}

type Tx = Transaction<Database> | Kysely<Database>;

export async function findCustomerByContact(db: Tx, contact: Contact) {
  const query = db.selectFrom('customers').select(['id', 'email', 'msisdn']);
  return ('email' in contact ? query.where('email', '=', contact.email) : query.where('msisdn', '=', contact.msisdn)).executeTakeFirst();
}

export async function findCustomer(db: Tx, id: number) {
  return db
    .selectFrom('customers')
    .select(['id', 'email', 'msisdn', 'marketing_opt_in', 'marketing_choice_at'])
    .where('id', '=', id)
    .executeTakeFirst();
}

/** Every track of every paid order item: a release grants all its tracks. */
export async function grantOrderTracks(tx: Tx, orderId: number, customerId: number, now: string): Promise<number> {
  const items = await tx.selectFrom('order_items').select(['release_id', 'track_id']).where('order_id', '=', orderId).execute();
  const releaseIds = items.filter((i) => i.track_id === null).map((i) => i.release_id);
  const trackIds = new Set(items.map((i) => i.track_id).filter((t): t is number => t !== null));
  if (releaseIds.length) {
    // A release bought now grants the tracks it has now, not one a later DDEX message withdrew.
    const tracks = await tx
      .selectFrom('tracks')
      .select('id')
      .where('release_id', 'in', releaseIds)
      .where('withdrawn_at', 'is', null)
      .execute();
    for (const t of tracks) trackIds.add(t.id);
  }
  if (trackIds.size === 0) return 0;
  await tx
    .insertInto('entitlements')
    .values(
      [...trackIds].map((trackId) => ({
        customer_id: customerId,
        order_id: orderId,
        track_id: trackId,
        created_at: now,
        revoked_at: null,
      })),
    )
    .execute();
  return trackIds.size;
}

export async function revokeOrderTracks(tx: Tx, orderId: number, now: string): Promise<void> {
  await tx.updateTable('entitlements').set({ revoked_at: now }).where('order_id', '=', orderId).where('revoked_at', 'is', null).execute();
}
