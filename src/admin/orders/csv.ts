import { stringify } from 'csv-stringify/sync';
import type { OrderListRow } from './repository.js';

/**
 * A cell a spreadsheet would run as a formula (it starts with = + - @, or a tab or carriage return
 * that some programs skip first) gets a leading apostrophe, as OWASP advises for CSV injection:
 * an item title or a contact detail typed by anyone must stay text.
 */
export function neutraliseFormula(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

const COLUMNS = [
  'reference',
  'status',
  'created_at',
  'paid_at',
  'total_pence',
  'currency',
  'payment_method',
  'contact',
  'affiliate_number',
  'item_count',
  'item_titles',
] as const;

/** The filtered order list as CSV (RFC 4180 quoting by csv-stringify), one row per order. */
export function ordersCsv(rows: OrderListRow[]): string {
  const text = (v: string | null) => neutraliseFormula(v ?? '');
  return stringify(
    rows.map((r) => [
      text(r.reference),
      text(r.status),
      text(r.created_at),
      text(r.paid_at),
      Number(r.total_pence),
      text(r.currency),
      text(r.payment_method),
      text(r.contact),
      r.affiliate_id ?? '',
      Number(r.item_count),
      text(r.item_titles),
    ]),
    { header: true, columns: [...COLUMNS], record_delimiter: 'windows' },
  );
}
