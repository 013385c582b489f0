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
  /** The same link, shorter (/l/TOKEN), for a text message. */
  shortSignInUrl: string;
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

export interface OrderNoticeData {
  storeName: string;
  reference: string;
  items: { title: string; price_pence: number }[];
  totalPence: number;
  /** How it was paid, in words ("PayPal", "Mobile phone bill"). */
  methodName: string;
  /** The store's home page, for "buy it after all". */
  storeUrl: string;
}

const NOTICE_SUBJECTS = {
  'order-refunded': (d: OrderNoticeData) => `Your ${d.storeName} order ${d.reference} is refunded`,
  'order-cancelled': (d: OrderNoticeData) => `Your ${d.storeName} order ${d.reference} was cancelled`,
};

/** A refunded or cancelled order, told to its customer: the email's parts, or the SMS text. */
export async function orderNoticeEmail(name: keyof typeof NOTICE_SUBJECTS, data: OrderNoticeData) {
  return {
    subject: NOTICE_SUBJECTS[name](data),
    text: await render(name, 'txt', { ...data }),
    html: await render(name, 'html', { ...data }),
  };
}

export async function orderNoticeSms(name: keyof typeof NOTICE_SUBJECTS, data: OrderNoticeData) {
  return { text: (await render(name, 'sms', { ...data })).trim() };
}
