import type { Transaction } from 'kysely';
import { insertedId, isDuplicateKeyError, lockingRead } from '../db/dialect.js';
import type { Database } from '../db/schema.js';

export type Contact = { email: string } | { msisdn: string };

/**
 * The customer for a contact detail, created on first payment. Two payments by a new customer
 * can race: the unique key decides, and the loser reads the winner's row.
 */
export async function findOrCreateCustomer(tx: Transaction<Database>, contact: Contact, now: string): Promise<number> {
  const byContact = 'email' in contact ? (['email', contact.email] as const) : (['msisdn', contact.msisdn] as const);
  const find = () => lockingRead(tx, tx.selectFrom('customers').select('id').where(byContact[0], '=', byContact[1])).executeTakeFirst();
  const existing = await find();
  if (existing) return existing.id;
  try {
    const row = { email: 'email' in contact ? contact.email : null, msisdn: 'msisdn' in contact ? contact.msisdn : null, marketing_opt_in: 0, marketing_choice_at: null, created_at: now, updated_at: now };
    return insertedId(await tx.insertInto('customers').values(row).executeTakeFirstOrThrow());
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
    return (await find())!.id;
  }
}

export async function recordMarketingChoice(tx: Transaction<Database>, customerId: number, optIn: boolean, now: string): Promise<void> {
  await tx.updateTable('customers').set({ marketing_opt_in: optIn ? 1 : 0, marketing_choice_at: now, updated_at: now }).where('id', '=', customerId).execute();
}
