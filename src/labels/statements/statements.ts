/**
 * Monthly label statements and the quarterly VAT summary, computed from orders and refunds
 * (never from stored totals). Whole pence throughout; the rounding rules (docs/labels.md):
 *   - VAT of an order line = round-half-up(gross × rate / (100 + rate)) (src/labels/vat.ts);
 *   - a statement line is one track or release in one country of sale in the month, its sales and
 *     refunds netted: net = gross − refunds − VAT;
 *   - owed = floor(net × royalty rate) for a positive net, and the mirror image (−floor(|net| × rate))
 *     for a negative one, so a refund of an earlier month's sale takes back exactly what it paid;
 *   - the store keeps net − owed;
 *   - each line is the label's it was sold for (order_items.label_id, fixed when paid): a release moving
 *     to another label later takes none of its past sales or their refunds with it;
 *   - the rate is the label's rate in force when the order was paid (label_royalty_rates), for its
 *     sale and for its refund alike, so changing a label's rate never changes a past statement.
 * Hence, for every month: Σ owed + Σ store share + Σ VAT = that month's sales − that month's refunds.
 */
import type { Db } from '../../db/database.js';
import { toDbTime } from '../../db/dialect.js';
import { vatInGross } from '../vat.js';
import { labelsByIds, linesInPeriod, orderTotalsInPeriod, rateHistories, type Period, type SoldLine } from './repository.js';

export interface StatementProduct {
  productType: 'Track' | 'Release';
  isrc: string | null;
  icpn: string | null;
  catalogueNumber: string | null;
  title: string;
  artist: string;
  /** ISO 3166 alpha-2; 'XX' when the provider did not say (orders from before countries were kept). */
  country: string;
  royaltyBasisPoints: number;
}

/** The figures of a statement line, and of any sum of lines. */
interface Figures {
  unitsSold: number;
  unitsRefunded: number;
  grossPence: number;
  refundsPence: number;
  vatPence: number;
  netPence: number;
  owedPence: number;
}

export interface StatementLine extends Figures, StatementProduct {}

export interface Totals extends Figures {
  /** What the store keeps of the net: net − owed. */
  storeSharePence: number;
}

export interface LabelStatement {
  month: string;
  label: { id: number; name: string; contactEmail: string | null; ddexPartyId: string | null; royaltyBasisPoints: number };
  lines: StatementLine[];
  totals: Totals;
}

export interface MonthStatements {
  month: string;
  statements: LabelStatement[];
  totals: Totals;
  /** The same month from the orders table alone; balanced when owed + store share + VAT = sales − refunds. */
  reconciliation: { salesPence: number; refundsPence: number; statedPence: number; balanced: boolean };
}

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

export function isMonth(text: string): boolean {
  return MONTH.test(text);
}

/** The month as a UTC period [first second, first second of the next month). */
export function monthPeriod(month: string): Period {
  const match = MONTH.exec(month);
  if (!match) throw new RangeError(`not a month: ${month}`);
  const start = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, 1));
  const end = new Date(Date.UTC(Number(match[1]), Number(match[2]), 1));
  return { from: toDbTime(start), to: toDbTime(end) };
}

/** Royalty on a net amount, floored for a sale and mirrored for a refund. */
export function royaltyOwed(netPence: number, basisPoints: number): number {
  const owed = Math.floor((Math.abs(netPence) * basisPoints) / 10_000);
  return netPence < 0 ? -owed : owed;
}

const emptyTotals = (): Totals => ({
  unitsSold: 0,
  unitsRefunded: 0,
  grossPence: 0,
  refundsPence: 0,
  vatPence: 0,
  netPence: 0,
  owedPence: 0,
  storeSharePence: 0,
});

function addTo(totals: Totals, line: StatementLine): void {
  totals.unitsSold += line.unitsSold;
  totals.unitsRefunded += line.unitsRefunded;
  totals.grossPence += line.grossPence;
  totals.refundsPence += line.refundsPence;
  totals.vatPence += line.vatPence;
  totals.netPence += line.netPence;
  totals.owedPence += line.owedPence;
  totals.storeSharePence += line.netPence - line.owedPence;
}

function sumTotals(all: Totals[]): Totals {
  return all.reduce((sum, t) => {
    for (const key of Object.keys(sum) as (keyof Totals)[]) sum[key] += t[key];
    return sum;
  }, emptyTotals());
}

/** A database time as 'YYYY-MM-DD HH:MM:SS', whichever way the driver hands it back. */
const dbTime = (value: unknown) => (value instanceof Date ? toDbTime(value) : String(value).replace('T', ' ').slice(0, 19));

/** The rate in force at `paidAt`: the latest in the label's history from then or before, else its current rate. */
function rateAt(history: { royalty_basis_points: number; effective_from: string }[], paidAt: string | null, current: number): number {
  const at = paidAt === null ? null : dbTime(paidAt);
  let rate = current;
  if (at === null) return rate;
  for (const row of history) {
    if (dbTime(row.effective_from) > at) break;
    rate = row.royalty_basis_points;
  }
  return rate;
}

const lastSecondOf = (period: Period) => toDbTime(new Date(Date.parse(`${period.to.replace(' ', 'T')}Z`) - 1000));

/** One statement line per (track or release, country, rate at the time of sale), sales and refunds netted. */
function statementLines(lines: SoldLine[], rateOf: (line: SoldLine) => number): StatementLine[] {
  const grouped = new Map<string, StatementLine>();
  for (const l of lines) {
    const country = l.country_code ?? 'XX';
    const royaltyBasisPoints = rateOf(l);
    const key = `${l.track_id === null ? `r${l.release_id}` : `t${l.track_id}`}|${country}|${royaltyBasisPoints}`;
    const line =
      grouped.get(key) ??
      ({
        productType: l.track_id === null ? 'Release' : 'Track',
        isrc: l.track_id === null ? null : l.isrc,
        icpn: l.icpn,
        catalogueNumber: l.catalogue_number,
        title: l.title,
        artist: l.artist,
        country,
        unitsSold: 0,
        unitsRefunded: 0,
        grossPence: 0,
        refundsPence: 0,
        vatPence: 0,
        netPence: 0,
        royaltyBasisPoints,
        owedPence: 0,
      } satisfies StatementLine);
    const vat = vatInGross(l.price_pence, l.vat_basis_points);
    if (l.kind === 'sale') {
      line.unitsSold++;
      line.grossPence += l.price_pence;
      line.vatPence += vat;
    } else {
      line.unitsRefunded++;
      line.refundsPence += l.price_pence;
      line.vatPence -= vat;
    }
    grouped.set(key, line);
  }
  const result = [...grouped.values()];
  for (const line of result) {
    line.netPence = line.grossPence - line.refundsPence - line.vatPence;
    line.owedPence = royaltyOwed(line.netPence, line.royaltyBasisPoints);
  }
  return result.sort(
    (a, b) =>
      a.artist.localeCompare(b.artist) ||
      a.title.localeCompare(b.title) ||
      a.productType.localeCompare(b.productType) ||
      a.country.localeCompare(b.country) ||
      a.royaltyBasisPoints - b.royaltyBasisPoints,
  );
}

/** Every label's statement for the month (or one label's), with the month's reconciliation. */
export async function monthStatements(db: Db, month: string, onlyLabelId?: number): Promise<MonthStatements> {
  const period = monthPeriod(month);
  const lines = await linesInPeriod(db, period);
  const byLabel = new Map<number, SoldLine[]>();
  for (const line of lines) {
    // Payment fixes the label on each line (migration 065 did so for earlier sales); a paid line without one
    // would be a bug, and is refused rather than dropped.
    if (line.label_id === null) throw new Error(`order ${line.order_id}: a line of release ${line.release_id} was sold without a label`);
    byLabel.set(line.label_id, [...(byLabel.get(line.label_id) ?? []), line]);
  }
  const labels = await labelsByIds(db, [...byLabel.keys()]);
  const histories = await rateHistories(db, [...byLabel.keys()]);
  const statements = labels
    .map((label): LabelStatement => {
      const history = histories.filter((h) => h.label_id === label.id);
      const statementLinesOf = statementLines(byLabel.get(label.id)!, (l) => rateAt(history, l.paid_at, label.royalty_basis_points));
      const totals = emptyTotals();
      statementLinesOf.forEach((l) => addTo(totals, l));
      return {
        month,
        label: {
          id: label.id,
          name: label.name,
          contactEmail: label.contact_email,
          ddexPartyId: label.ddex_party_id,
          // The rate in force at the month's end, so a later change leaves this statement as it was.
          royaltyBasisPoints: rateAt(history, lastSecondOf(period), label.royalty_basis_points),
        },
        lines: statementLinesOf,
        totals,
      };
    })
    .sort((a, b) => a.label.name.localeCompare(b.label.name) || a.label.id - b.label.id);
  const totals = sumTotals(statements.map((s) => s.totals));
  const orders = await orderTotalsInPeriod(db, period);
  const statedPence = totals.owedPence + totals.storeSharePence + totals.vatPence;
  return {
    month,
    statements: onlyLabelId === undefined ? statements : statements.filter((s) => s.label.id === onlyLabelId),
    totals,
    reconciliation: { ...orders, statedPence, balanced: statedPence === orders.salesPence - orders.refundsPence },
  };
}

export interface VatRow {
  paymentMethod: string;
  country: string;
  salesPence: number;
  refundsPence: number;
  vatPence: number;
  netPence: number;
}

const QUARTER = /^(\d{4})-Q([1-4])$/;

export function isQuarter(text: string): boolean {
  return QUARTER.test(text);
}

export function quarterMonths(quarter: string): string[] {
  const match = QUARTER.exec(quarter);
  if (!match) throw new RangeError(`not a quarter: ${quarter}`);
  const first = (Number(match[2]) - 1) * 3 + 1;
  return [0, 1, 2].map((i) => `${match[1]}-${String(first + i).padStart(2, '0')}`);
}

/**
 * The operator's VAT summary for a quarter: sales, refunds, VAT and net by payment method and
 * country, from the same order lines and rounding as the statements, with each month's
 * reconciliation beside it.
 */
export async function quarterVat(db: Db, quarter: string) {
  const months = quarterMonths(quarter);
  const rows = new Map<string, VatRow>();
  const monthly = [];
  for (const month of months) {
    const period = monthPeriod(month);
    for (const l of await linesInPeriod(db, period)) {
      const country = l.country_code ?? 'XX';
      const key = `${l.payment_method}|${country}`;
      const row = rows.get(key) ?? { paymentMethod: l.payment_method, country, salesPence: 0, refundsPence: 0, vatPence: 0, netPence: 0 };
      const vat = vatInGross(l.price_pence, l.vat_basis_points);
      if (l.kind === 'sale') {
        row.salesPence += l.price_pence;
        row.vatPence += vat;
      } else {
        row.refundsPence += l.price_pence;
        row.vatPence -= vat;
      }
      row.netPence = row.salesPence - row.refundsPence - row.vatPence;
      rows.set(key, row);
    }
    const statements = await monthStatements(db, month);
    monthly.push({ month, vatPence: statements.totals.vatPence, ...statements.reconciliation });
  }
  const byMethodAndCountry = [...rows.values()].sort(
    (a, b) => a.paymentMethod.localeCompare(b.paymentMethod) || a.country.localeCompare(b.country),
  );
  const totals = byMethodAndCountry.reduce(
    (t, r) => ({
      salesPence: t.salesPence + r.salesPence,
      refundsPence: t.refundsPence + r.refundsPence,
      vatPence: t.vatPence + r.vatPence,
      netPence: t.netPence + r.netPence,
    }),
    { salesPence: 0, refundsPence: 0, vatPence: 0, netPence: 0 },
  );
  // The summary's VAT is the statements' VAT: the same lines, the same rule.
  const reconciled = totals.vatPence === monthly.reduce((n, m) => n + m.vatPence, 0) && monthly.every((m) => m.balanced);
  return { quarter, months, byMethodAndCountry, totals, monthly, reconciled };
}

/** The month a date falls in, as YYYY-MM (UTC). */
export const monthOf = (date: Date) => date.toISOString().slice(0, 7);
export const previousMonth = (now: Date) => monthOf(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)));
export const quarterOf = (date: Date) => `${date.getUTCFullYear()}-Q${Math.floor(date.getUTCMonth() / 3) + 1}`;
