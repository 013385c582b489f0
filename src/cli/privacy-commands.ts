import fs from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { queueMarketing } from '../privacy/marketing.js';
import { sendServiceNotice } from '../privacy/notices.js';
import { eraseCustomer, exportCustomer, findCustomer } from '../privacy/data-rights.js';
import { withDatabase } from './context.js';

/** 2026-11-20 (the whole day when it ends a window) or 2026-11-20T14:30:00Z. */
const instant = (endOfDay: boolean) => (value: string) => {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const date = new Date(dateOnly ? `${value}T${endOfDay ? '23:59:59' : '00:00:00'}Z` : value);
  if (Number.isNaN(date.getTime())) throw new InvalidArgumentError('must be a date (2026-11-20) or a UTC time (2026-11-20T14:30:00Z)');
  return date;
};

function readBody(file: string): string {
  const text = fs.readFileSync(file, 'utf8');
  if (!text.trim()) throw new Error(`${file} is empty`);
  if (text.length > 100_000) throw new Error(`${file} is too long for a message`);
  return text;
}

function oneLine(value: string, what: string): string {
  const line = value.trim();
  if (!line || line.length > 255 || /[\r\n]/.test(line)) throw new Error(`${what} must be one line of 1 to 255 characters`);
  return line;
}

export function registerPrivacyCommands(program: Command): void {
  program
    .command('marketing')
    .description('Marketing messages: only to customers who opted in and have not opted out.')
    .command('send')
    .description('Queue a marketing message to every opted-in customer (email with a one-click unsubscribe link, or SMS).')
    .requiredOption('--subject <subject>', 'the email subject')
    .requiredOption('--body-file <file>', 'a plain-text file with the message')
    .action(async (options: { subject: string; bodyFile: string }) => {
      const subject = oneLine(options.subject, '--subject');
      const text = readBody(options.bodyFile);
      await withDatabase(async ({ config, database }) => {
        const publicUrl = config.publicUrl ?? `http://localhost:${config.port}`;
        const queued = await queueMarketing(database.db, { subject, text, publicUrl, secret: config.sessionSecret }, new Date());
        console.log(`Queued ${queued} marketing message${queued === 1 ? '' : 's'} (opted-in customers only).`);
      });
    });

  program
    .command('notice')
    .description('Service notices: messages about a problem affecting customers, sent whatever their marketing choice.')
    .command('send')
    .description('Message every customer with an order in the window; logged with who sent it and why.')
    .requiredOption('--orders-between <times...>', 'the window of order times: FROM TO (dates or UTC times)')
    .requiredOption('--message-file <file>', 'a plain-text file with the message')
    .requiredOption('--reason <reason>', 'why the notice is sent (kept in the log)')
    .requiredOption('--by <name>', 'who sends it (kept in the log)')
    .option('--subject <subject>', 'the email subject', 'About your order')
    .action(async (options: { ordersBetween: string[] | string; messageFile: string; reason: string; by: string; subject: string }) => {
      const window = Array.isArray(options.ordersBetween) ? options.ordersBetween : [options.ordersBetween];
      if (window.length !== 2) throw new Error('--orders-between needs two values: FROM TO');
      const ordersFrom = instant(false)(window[0]!);
      const ordersTo = instant(true)(window[1]!);
      const text = readBody(options.messageFile);
      const subject = oneLine(options.subject, '--subject');
      await withDatabase(async ({ database }) => {
        const { noticeId, recipients } = await sendServiceNotice(
          database.db,
          { ordersFrom, ordersTo, subject, text, reason: options.reason, sentBy: options.by },
          new Date(),
        );
        console.log(`Service notice ${noticeId}: queued for ${recipients} customer${recipients === 1 ? '' : 's'}.`);
      });
    });

  const customer = program.command('customer').description("Data rights: a customer's data as JSON, or erasure.");
  customer
    .command('export')
    .description('Print everything held about a customer as JSON: account, orders with items and payments, messages, downloads.')
    .argument('<email-or-number>', 'the email address or mobile number the customer paid with')
    .action(async (contact: string) => {
      await withDatabase(async ({ database }) => {
        const found = await findCustomer(database.db, contact);
        if (!found) throw new Error('no customer with that email address or number');
        console.log(JSON.stringify(await exportCustomer(database.db, found.id), null, 2));
      });
    });
  customer
    .command('erase')
    .description('Erase a customer: contact detail, account, messages, downloads and sessions go; orders stay as anonymous records.')
    .argument('<email-or-number>', 'the email address or mobile number the customer paid with')
    .action(async (contact: string) => {
      await withDatabase(async ({ database }) => {
        const found = await findCustomer(database.db, contact);
        if (!found) throw new Error('no customer with that email address or number');
        const erased = await eraseCustomer(database.db, found.id, new Date());
        console.log(`Erased customer ${found.id}: ${erased.orders} order(s) kept anonymously, ${erased.messages} message(s) emptied.`);
      });
    });
}
