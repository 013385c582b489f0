/**
 * A statement as CSV, in the columns of a download store's sales report to a label (one row per
 * product and country of sale, with units, gross, VAT, net and royalty; amounts in pounds with two
 * decimals). RFC 4180 quoting by csv-stringify; a cell that a spreadsheet would run as a formula
 * is prefixed with a quote.
 */
import { stringify } from 'csv-stringify/sync';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/schema.js';
import { queueMessage } from '../../notifications/outbox.js';
import { formatPrice } from '../../web/view-helpers.js';
import type { LabelStatement } from './statements.js';

export const STATEMENT_COLUMNS = [
  'Reporting Month',
  'Store',
  'Label',
  'Label DPID',
  'Product Type',
  'ISRC',
  'UPC/EAN',
  'Catalogue Number',
  'Artist',
  'Title',
  'Country of Sale',
  'Units Sold',
  'Units Refunded',
  'Net Units',
  'Currency',
  'Gross Sales (incl. VAT)',
  'Refunds (incl. VAT)',
  'VAT',
  'Net Receipts',
  'Royalty Rate (%)',
  'Royalty Owed',
] as const;

const pounds = (pence: number) => (pence < 0 ? '-' : '') + (Math.abs(pence) / 100).toFixed(2);
const safeCell = (text: string | null) => (text && /^[=+\-@\t\r]/.test(text) ? `'${text}` : (text ?? ''));

export function statementCsv(statement: LabelStatement, storeName: string): string {
  const { label, month, totals } = statement;
  const rows = statement.lines.map((l) => [
    month,
    safeCell(storeName),
    safeCell(label.name),
    label.ddexPartyId ?? '',
    l.productType,
    l.isrc ?? '',
    l.icpn ?? '',
    safeCell(l.catalogueNumber),
    safeCell(l.artist),
    safeCell(l.title),
    l.country,
    l.unitsSold,
    l.unitsRefunded,
    l.unitsSold - l.unitsRefunded,
    'GBP',
    pounds(l.grossPence),
    pounds(l.refundsPence),
    pounds(l.vatPence),
    pounds(l.netPence),
    (l.royaltyBasisPoints / 100).toFixed(2),
    pounds(l.owedPence),
  ]);
  const total = [
    month,
    safeCell(storeName),
    safeCell(label.name),
    label.ddexPartyId ?? '',
    'Total',
    '',
    '',
    '',
    '',
    '',
    '',
    totals.unitsSold,
    totals.unitsRefunded,
    totals.unitsSold - totals.unitsRefunded,
    'GBP',
    pounds(totals.grossPence),
    pounds(totals.refundsPence),
    pounds(totals.vatPence),
    pounds(totals.netPence),
    (label.royaltyBasisPoints / 100).toFixed(2),
    pounds(totals.owedPence),
  ];
  return stringify([...rows, total], { header: true, columns: [...STATEMENT_COLUMNS] });
}

/** The rate(s) the month's lines were paid at: each sale at the rate in force when it was paid. */
const rates = (statement: LabelStatement) => {
  const all = [...new Set(statement.lines.map((l) => l.royaltyBasisPoints))].sort((a, b) => a - b);
  const percent = (bp: number) => `${bp / 100}%`;
  return all.length > 1
    ? `${all.map(percent).join(' and ')} (the rate in force at each sale)`
    : percent(all[0] ?? statement.label.royaltyBasisPoints);
};

export const statementFileName = (statement: LabelStatement) => `statement-${statement.month}-label-${statement.label.id}.csv`;

/**
 * Queues the statement to the label's contact through the outbox (in the caller's transaction):
 * a summary, then the CSV in the body (the outbox sends text, not attachments). Null when the label
 * has no contact address.
 */
export async function queueStatementEmail(
  tx: Transaction<Database> | Kysely<Database>,
  statement: LabelStatement,
  storeName: string,
  now: string,
): Promise<number | null> {
  const to = statement.label.contactEmail;
  if (!to) return null;
  const { totals, label, month } = statement;
  const text = [
    `${storeName}: sales statement for ${label.name}, ${month}`,
    '',
    `Units sold ${totals.unitsSold}, refunded ${totals.unitsRefunded}.`,
    `Gross ${formatPrice(totals.grossPence)}, refunds ${formatPrice(totals.refundsPence)}, VAT ${formatPrice(totals.vatPence)}, net receipts ${formatPrice(totals.netPence)}.`,
    `Royalty at ${rates(statement)} of net receipts: ${formatPrice(totals.owedPence)} owed to ${label.name}.`,
    '',
    `The statement as CSV (${statementFileName(statement)}) follows.`,
    '',
    statementCsv(statement, storeName),
  ].join('\n');
  return queueMessage(
    tx,
    { channel: 'email', recipient: to, kind: 'service', subject: `${storeName} sales statement ${month}: ${label.name}`, text },
    now,
  );
}
