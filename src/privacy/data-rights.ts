/**
 * Data rights: everything held about one customer (export), and erasure. Erasure removes the
 * contact detail and everything that identifies the person (the account, sign-in codes and links,
 * entitlements, the download log, sessions, message recipients and bodies) and keeps the orders,
 * their items and payments as anonymous financial records (orders.customer_id becomes null).
 */
import { parseContact } from '../customers/contact.js';
import type { Db } from '../db/database.js';
import { toDbTime } from '../db/dialect.js';
import { deleteCodes } from '../sign-in-codes/repository.js';

export const ERASED = '(erased)';

export async function findCustomer(db: Db, emailOrNumber: string) {
  const contact = parseContact(emailOrNumber.trim());
  if (!contact) throw new Error('give an email address or a mobile number');
  const query = db.selectFrom('customers').selectAll();
  return 'email' in contact
    ? query.where('email', '=', contact.email).executeTakeFirst()
    : query.where('msisdn', '=', contact.msisdn).executeTakeFirst();
}

export async function exportCustomer(db: Db, customerId: number) {
  const account = await db.selectFrom('customers').selectAll().where('id', '=', customerId).executeTakeFirstOrThrow();
  const orders = await db.selectFrom('orders').selectAll().where('customer_id', '=', customerId).orderBy('id').execute();
  const orderIds = orders.map((o) => o.id);
  const items = orderIds.length
    ? await db.selectFrom('order_items').selectAll().where('order_id', 'in', orderIds).orderBy('id').execute()
    : [];
  const payments = orderIds.length
    ? await db
        .selectFrom('payments')
        .select(['order_id', 'method', 'status', 'amount_pence', 'currency', 'created_at'])
        .where('order_id', 'in', orderIds)
        .orderBy('id')
        .execute()
    : [];
  const messages = await db
    .selectFrom('outbox')
    .select(['channel', 'recipient', 'kind', 'subject', 'body_text', 'status', 'created_at', 'sent_at'])
    .where('customer_id', '=', customerId)
    .orderBy('id')
    .execute();
  const downloads = await db
    .selectFrom('downloads')
    .select(['track_id', 'release_id', 'created_at'])
    .where('customer_id', '=', customerId)
    .orderBy('id')
    .execute();
  const entitlements = await db
    .selectFrom('entitlements')
    .select(['order_id', 'track_id', 'created_at', 'revoked_at'])
    .where('customer_id', '=', customerId)
    .orderBy('id')
    .execute();
  return {
    account: {
      email: account.email,
      mobile: account.msisdn ? `+${account.msisdn}` : null,
      marketingOptIn: account.marketing_opt_in === 1,
      marketingChoiceAt: account.marketing_choice_at,
      /** The download format the customer chose on Your music (src/media/); null: not chosen. */
      downloadFormat: account.download_format,
      createdAt: account.created_at,
    },
    orders: orders.map((o) => ({
      ...o,
      items: items.filter((i) => i.order_id === o.id),
      payments: payments.filter((p) => p.order_id === o.id),
    })),
    messages,
    downloads,
    entitlements,
  };
}

export async function eraseCustomer(db: Db, customerId: number, now: Date): Promise<{ orders: number; messages: number }> {
  const customer = await db.selectFrom('customers').selectAll().where('id', '=', customerId).executeTakeFirstOrThrow();
  const contacts = [customer.email, customer.msisdn].filter((c): c is string => !!c);
  const at = toDbTime(now);
  return db.transaction().execute(async (tx) => {
    // Messages first: their rows point at the customer. The row stays (an operator's count of what was sent), its content goes.
    const messages = await tx
      .updateTable('outbox')
      .set({
        recipient: ERASED,
        subject: null,
        body_text: ERASED,
        body_html: null,
        headers: null,
        last_error: null,
        customer_id: null,
        updated_at: at,
      })
      .where((eb) =>
        eb.or([eb('customer_id', '=', customerId), ...contacts.flatMap((c) => [eb('recipient', '=', c), eb('recipient', '=', `+${c}`)])]),
      )
      .executeTakeFirst();
    await tx
      .updateTable('outbox')
      .set({ status: 'failed', last_error: 'recipient erased' })
      .where('recipient', '=', ERASED)
      .where('status', 'in', ['pending', 'sending'])
      .execute();
    await deleteCodes(tx, { kind: 'customer', id: customerId });
    for (const table of ['sign_in_links', 'downloads', 'entitlements'] as const) {
      await tx.deleteFrom(table).where('customer_id', '=', customerId).execute();
    }
    // Sessions are JSON: the signed-in customer's id, or the contact typed at sign-in.
    await tx
      .deleteFrom('sessions')
      .where((eb) =>
        eb.or([
          eb('data', 'like', `%"customerId":${customerId},%`),
          eb('data', 'like', `%"customerId":${customerId}}%`),
          // An email address has no %; a _ in it only widens the match (another stray session ends).
          ...contacts.map((c) => eb('data', 'like', `%${c}%`)),
        ]),
      )
      .execute();
    const orders = await tx
      .updateTable('orders')
      .set({ customer_id: null, updated_at: at })
      .where('customer_id', '=', customerId)
      .executeTakeFirst();
    await tx.updateTable('orders').set({ placed_by_customer_id: null }).where('placed_by_customer_id', '=', customerId).execute();
    await tx.deleteFrom('customers').where('id', '=', customerId).execute();
    return { orders: Number(orders.numUpdatedRows), messages: Number(messages.numUpdatedRows) };
  });
}
