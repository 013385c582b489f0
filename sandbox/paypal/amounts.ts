/**
 * The business rules PayPal applies to a create-order body after it passes the schema: amounts
 * that must add up, currencies it takes, precision. Each broken rule is a 422 detail with the
 * issue code and field PayPal uses (fields are addressed as /purchase_units/@reference_id=='x'/...).
 */
import type { ErrorDetail } from './errors.js';
import { isSupportedCurrency, toMinor } from './money.js';
import type { AmountBreakdown, Money, OrderRequest, PurchaseUnitRequest } from './types.js';

const DESCRIPTIONS = {
  AMOUNT_MISMATCH: 'Should equal item_total + tax_total + shipping + handling + insurance - shipping_discount - discount.',
  ITEM_TOTAL_MISMATCH: 'Should equal sum of (unit_amount * quantity) across all items for a given purchase_unit.',
  ITEM_TOTAL_REQUIRED:
    'If item details are specified (items.unit_amount and items.quantity) corresponding amount.breakdown.item_total is required.',
  TAX_TOTAL_MISMATCH: 'Should equal sum of (tax * quantity) across all items for a given purchase_unit.',
  TAX_TOTAL_REQUIRED:
    'If item details are specified (items.tax_total and items.quantity) corresponding amount.breakdown.tax_total is required.',
  CANNOT_BE_ZERO_OR_NEGATIVE: 'Must be greater than zero.',
  CANNOT_BE_NEGATIVE: 'Must be greater than or equal to 0.',
  DECIMAL_PRECISION: 'The value has more decimal places than the currency supports.',
  INVALID_CURRENCY_CODE: 'Currency code is invalid or is not currently supported.',
  MULTI_CURRENCY_ORDER: 'Multiple differing values of currency_code are not supported.',
  REFERENCE_ID_REQUIRED: "'reference_id' is required for each 'purchase_unit' if multiple 'purchase_unit' are provided.",
  DUPLICATE_REFERENCE_ID: "'reference_id' must be unique if multiple 'purchase_unit' are provided.",
  UNSUPPORTED_INTENT: 'This stand-in implements intent CAPTURE only (the store never authorises for later).',
} as const;

type Issue = keyof typeof DESCRIPTIONS;

function detail(issue: Issue, field: string, value?: string): ErrorDetail {
  const out: ErrorDetail = { issue, description: DESCRIPTIONS[issue], field, location: 'body' };
  if (value !== undefined) out.value = value;
  return out;
}

export function checkOrderRequest(order: OrderRequest): ErrorDetail[] {
  if (order.intent !== 'CAPTURE') return [detail('UNSUPPORTED_INTENT', '/intent', order.intent)];
  const units = order.purchase_units;
  const problems = [...checkReferenceIds(units), ...units.flatMap((unit) => checkUnit(unit))];
  const currencies = new Set(units.map((u) => u.amount.currency_code));
  if (problems.length === 0 && currencies.size > 1) problems.push(detail('MULTI_CURRENCY_ORDER', '/purchase_units/1/amount/currency_code'));
  return problems;
}

function checkReferenceIds(units: PurchaseUnitRequest[]): ErrorDetail[] {
  if (units.length < 2) return [];
  const missing = units.findIndex((u) => u.reference_id === undefined);
  if (missing >= 0) return [detail('REFERENCE_ID_REQUIRED', `/purchase_units/${missing}/reference_id`)];
  const ids = units.map((u) => u.reference_id!);
  const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
  return duplicate === undefined
    ? []
    : [detail('DUPLICATE_REFERENCE_ID', `/purchase_units/@reference_id=='${duplicate}'/reference_id`, duplicate)];
}

/** Where PayPal says a problem is: the unit by its reference_id ('default' when there is none). */
function unitPath(unit: PurchaseUnitRequest): string {
  return `/purchase_units/@reference_id=='${unit.reference_id ?? 'default'}'`;
}

function checkUnit(unit: PurchaseUnitRequest): ErrorDetail[] {
  const base = unitPath(unit);
  const amounts = moneyIn(unit);
  const formatProblems = amounts.flatMap(([field, money]) => checkMoney(money, unit.amount.currency_code, `${base}${field}`));
  // Sums over amounts that cannot be read would only repeat the first complaint.
  if (formatProblems.length > 0) return formatProblems;
  return [...checkSigns(unit, base), ...checkItemSums(unit, base), ...checkBreakdown(unit, base)];
}

/** Every Money in a purchase unit with its path, amount first. */
function moneyIn(unit: PurchaseUnitRequest): Array<[string, Money]> {
  const found: Array<[string, Money]> = [['/amount', unit.amount]];
  for (const [name, money] of Object.entries(unit.amount.breakdown ?? {})) found.push([`/amount/breakdown/${name}`, money as Money]);
  (unit.items ?? []).forEach((item, i) => {
    found.push([`/items/${i}/unit_amount`, item.unit_amount]);
    if (item.tax) found.push([`/items/${i}/tax`, item.tax]);
  });
  return found;
}

function checkMoney(money: Money, unitCurrency: string, field: string): ErrorDetail[] {
  if (!isSupportedCurrency(money.currency_code) || money.currency_code !== unitCurrency) {
    return [detail('INVALID_CURRENCY_CODE', `${field}/currency_code`, money.currency_code)];
  }
  return toMinor(money) === undefined ? [detail('DECIMAL_PRECISION', `${field}/value`, money.value)] : [];
}

function checkSigns(unit: PurchaseUnitRequest, base: string): ErrorDetail[] {
  if (toMinor(unit.amount)! <= 0n) return [detail('CANNOT_BE_ZERO_OR_NEGATIVE', `${base}/amount/value`, unit.amount.value)];
  return moneyIn(unit)
    .slice(1)
    .filter(([, money]) => toMinor(money)! < 0n)
    .map(([field, money]) => detail('CANNOT_BE_NEGATIVE', `${base}${field}/value`, money.value));
}

function checkItemSums(unit: PurchaseUnitRequest, base: string): ErrorDetail[] {
  const items = unit.items ?? [];
  if (items.length === 0) return [];
  const breakdown = unit.amount.breakdown ?? {};
  const problems: ErrorDetail[] = [];
  const itemSum = sum(items.map((item) => toMinor(item.unit_amount)! * BigInt(item.quantity)));
  if (!breakdown.item_total) problems.push(detail('ITEM_TOTAL_REQUIRED', `${base}/amount/breakdown/item_total`));
  else if (toMinor(breakdown.item_total) !== itemSum) {
    problems.push(detail('ITEM_TOTAL_MISMATCH', `${base}/amount/breakdown/item_total/value`, breakdown.item_total.value));
  }
  const taxed = items.filter((item) => item.tax);
  if (taxed.length === 0) return problems;
  const taxSum = sum(taxed.map((item) => toMinor(item.tax!)! * BigInt(item.quantity)));
  if (!breakdown.tax_total) problems.push(detail('TAX_TOTAL_REQUIRED', `${base}/amount/breakdown/tax_total`));
  else if (toMinor(breakdown.tax_total) !== taxSum) {
    problems.push(detail('TAX_TOTAL_MISMATCH', `${base}/amount/breakdown/tax_total/value`, breakdown.tax_total.value));
  }
  return problems;
}

const ADDED: Array<keyof AmountBreakdown> = ['item_total', 'tax_total', 'shipping', 'handling', 'insurance'];
const SUBTRACTED: Array<keyof AmountBreakdown> = ['shipping_discount', 'discount'];

function checkBreakdown(unit: PurchaseUnitRequest, base: string): ErrorDetail[] {
  const breakdown = unit.amount.breakdown;
  if (!breakdown) return [];
  const part = (name: keyof AmountBreakdown) => (breakdown[name] ? toMinor(breakdown[name])! : 0n);
  const expected = sum(ADDED.map(part)) - sum(SUBTRACTED.map(part));
  return toMinor(unit.amount) === expected ? [] : [detail('AMOUNT_MISMATCH', `${base}/amount/value`, unit.amount.value)];
}

function sum(values: bigint[]): bigint {
  return values.reduce((a, b) => a + b, 0n);
}
