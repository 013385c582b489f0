/** Finding customers for the operator: by email (whole or part), mobile number, customer number or order reference. */
import { sql } from 'kysely';
import { parseContact } from '../../customers/contact.js';
import type { Db } from '../../db/database.js';
import { ORDER_REFERENCE_PATTERN } from '../../orders/reference.js';

export const SEARCH_LIMIT = 50;

export type CustomerQuery =
  | { by: 'id'; id: number }
  | { by: 'email'; email: string }
  | { by: 'emailPart'; text: string }
  | { by: 'msisdn'; msisdn: string }
  | { by: 'reference'; reference: string };

/** What the operator typed, understood; null when it is none of the forms we search by. */
export function parseCustomerQuery(typed: string): CustomerQuery | null {
  const text = typed.trim();
  if (!text || text.length > 254) return null;
  const number = /^#\s*([1-9]\d{0,9})$/.exec(text);
  if (number) return { by: 'id', id: Number(number[1]) };
  if (ORDER_REFERENCE_PATTERN.test(text.toUpperCase())) return { by: 'reference', reference: text.toUpperCase() };
  const contact = parseContact(text);
  if (contact) return 'email' in contact ? { by: 'email', email: contact.email } : { by: 'msisdn', msisdn: contact.msisdn };
  // Part of an address ("@example.com", "smith"): at least three characters, so a search is not a dump.
  if (text.length >= 3 && !/\s/.test(text) && !/^[\d+\s()-]+$/.test(text)) return { by: 'emailPart', text: text.toLowerCase() };
  return null;
}

/** LIKE with '!' as the escape character: the same on both databases (a backslash is not). */
const likeContaining = (text: string) => `%${text.replace(/[!%_]/g, (c) => `!${c}`)}%`;

export async function searchCustomers(db: Db, query: CustomerQuery) {
  let q = db.selectFrom('customers').select((eb) => [
    'customers.id',
    'customers.email',
    'customers.msisdn',
    'customers.marketing_opt_in',
    'customers.created_at',
    eb
      .selectFrom('orders')
      .whereRef('orders.customer_id', '=', 'customers.id')
      .select((o) => o.fn.countAll<number>().as('n'))
      .as('order_count'),
  ]);
  switch (query.by) {
    case 'id':
      q = q.where('customers.id', '=', query.id);
      break;
    case 'email':
      q = q.where('customers.email', '=', query.email);
      break;
    case 'msisdn':
      q = q.where('customers.msisdn', '=', query.msisdn);
      break;
    case 'reference':
      q = q.where(
        'customers.id',
        'in',
        db
          .selectFrom('orders')
          .select('customer_id')
          .where('reference', '=', query.reference)
          .where('customer_id', 'is not', null) as never,
      );
      break;
    case 'emailPart':
      q = q.where(sql<boolean>`customers.email like ${likeContaining(query.text)} escape '!'`);
      break;
  }
  const rows = await q.orderBy('customers.id').limit(SEARCH_LIMIT).execute();
  return rows.map((r) => ({ ...r, order_count: Number(r.order_count) }));
}

export async function customerExists(db: Db, id: number): Promise<boolean> {
  return !!(await db.selectFrom('customers').select('id').where('id', '=', id).executeTakeFirst());
}
