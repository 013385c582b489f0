import type { Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import { queueMessage, queueOrRecordUndeliverable } from '../notifications/outbox.js';
import { orderConfirmationEmail, orderConfirmationSms, signInCodeEmail, signInCodeSms } from '../notifications/templates.js';
import type { OnPaid } from '../orders/service.js';
import { contactText } from './contact.js';
import { orderVat, vatRateText, type Seller } from '../labels/vat.js';
import { orderLines } from './order-messages.js';
import { findCustomer, grantOrderTracks, type Contact } from './repository.js';
import { SHORT_LINK_PATH, type SignIn } from './sign-in.js';

/**
 * What happens in the transaction that marks an order paid: the customer gets the tracks and a
 * confirmation with their login details is queued. Transactional: sent whatever the marketing
 * choice. Every later order repeats the same login details with a fresh link.
 */
export function fulfilOrder(deps: ConfirmationDeps): OnPaid {
  return async (tx, order, customerId, now) => {
    await grantOrderTracks(tx, order.id, customerId, now);
    await queueOrderConfirmation(deps, tx, order, customerId, now);
  };
}

/** Queues the order's confirmation (with a fresh sign-in link): on payment, and when an operator re-sends it. */
export async function queueOrderConfirmation(
  deps: ConfirmationDeps,
  tx: Transaction<Database>,
  /** With its VAT rate when the caller has the row (the paid transaction has it locked): one read fewer. */
  order: { id: number; reference: string; total_pence: number; vat_basis_points?: number },
  customerId: number,
  now: string,
): Promise<void> {
  const customer = (await findCustomer(tx, customerId))!;
  const contact: Contact = customer.email ? { email: customer.email } : { msisdn: customer.msisdn! };
  const token = await deps.signIn.createLink(tx, customerId, deps.clock());
  const base = deps.publicUrl;
  const items = await orderLines(tx, order.id);
  const rate =
    order.vat_basis_points ??
    (await tx.selectFrom('orders').select('vat_basis_points').where('id', '=', order.id).executeTakeFirstOrThrow()).vat_basis_points;
  const data = {
    storeName: deps.storeName,
    reference: order.reference,
    items,
    totalPence: order.total_pence,
    vatPence: orderVat(items, rate),
    vatRate: vatRateText(rate),
    seller: deps.seller,
    login: contactText(contact),
    signInUrl: `${base}/account/link/${token}`,
    shortSignInUrl: `${base}${SHORT_LINK_PATH}${token}`,
    musicUrl: `${base}/account/music`,
  };
  const message =
    'email' in contact
      ? { channel: 'email' as const, recipient: contact.email, ...(await orderConfirmationEmail(data)) }
      : { channel: 'sms' as const, recipient: contact.msisdn, ...(await orderConfirmationSms(data)) };
  // The payment stands whatever happens to its message: one the outbox refuses is recorded as undeliverable.
  await queueOrRecordUndeliverable(tx, { ...message, kind: 'transactional', customerId, orderId: order.id, secret: token }, now);
}

export interface ConfirmationDeps {
  signIn: SignIn;
  storeName: string;
  publicUrl: string;
  clock: () => Date;
  /** The company and VAT number every receipt names. */
  seller: Seller;
}

/** Sends a sign-in code to the customer's own contact detail, by the channel it belongs to. */
export function sendSignInCode(storeName: string) {
  return async (
    tx: Transaction<Database>,
    customer: { id: number; email: string | null; msisdn: string | null },
    code: string,
    now: string,
  ) => {
    const message = customer.email
      ? { channel: 'email' as const, recipient: customer.email, ...(await signInCodeEmail({ storeName, code })) }
      : { channel: 'sms' as const, recipient: customer.msisdn!, ...(await signInCodeSms({ storeName, code })) };
    await queueMessage(tx, { ...message, kind: 'transactional', customerId: customer.id, secret: code }, now);
  };
}
