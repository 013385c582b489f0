import path from 'node:path';
import ejs from 'ejs';
import { formatPrice } from '../web/view-helpers.js';
import { PACKAGE_ROOT } from '../package-root.js';

const MESSAGES_DIR = path.join(PACKAGE_ROOT, 'views', 'messages');

/** Renders a message's parts from views/messages/NAME.{html,txt,sms}.ejs (HTML escapes by default). */
async function render(name: string, part: 'html' | 'txt' | 'sms', data: Record<string, unknown>): Promise<string> {
  return ejs.renderFile(path.join(MESSAGES_DIR, `${name}.${part}.ejs`), { ...data, formatPrice }, { cache: true });
}

export interface ConfirmationData {
  storeName: string;
  reference: string;
  items: { title: string; price_pence: number }[];
  totalPence: number;
  /** The VAT included in the total, and its rate as text ("20%"). */
  vatPence: number;
  vatRate: string;
  seller: { companyName: string; vatNumber: string | null };
  login: string;
  signInUrl: string;
  musicUrl: string;
}

export async function orderConfirmationEmail(data: ConfirmationData) {
  return {
    subject: `Your ${data.storeName} order ${data.reference}`,
    text: await render('order-confirmation', 'txt', { ...data }),
    html: await render('order-confirmation', 'html', { ...data }),
  };
}

export async function orderConfirmationSms(data: ConfirmationData) {
  return { text: (await render('order-confirmation', 'sms', { ...data })).trim() };
}

export async function signInCodeEmail(data: { storeName: string; code: string }) {
  return {
    subject: `Your ${data.storeName} sign-in code: ${data.code}`,
    text: await render('sign-in-code', 'txt', data),
    html: await render('sign-in-code', 'html', data),
  };
}

export async function signInCodeSms(data: { storeName: string; code: string }) {
  return { text: (await render('sign-in-code', 'sms', data)).trim() };
}
